/**
 * Simulated hosts on one machine, for multi-host tests: each host is its own network, mount and pid
 * namespace (its own /run/netns, /run/tsnet and state directory, so its own `tsnet daemon`), joined
 * by a veth to an underlay bridge in the test's private host. Killing a host's pid 1 kills every
 * process in it; a partition is its underlay link set down. Only addresses in 10.77.0.0/24 on that
 * underlay are used: traffic never leaves the private host.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NetlinkHandle } from '../../src/kernel/netlink';

/** The underlay subnet and the private host's own address on it (where etcd listens). */
export const UNDERLAY = { subnet: '10.77.0.0/24', gateway: '10.77.0.1', prefix: 24 };

/** Path of the tsnet CLI entry point in the build. */
export const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** One simulated host. */
export interface SimHost {
  /** Short name (h1, h2, …); its hostname, and so its name in the cluster, is `<name>-<tag>`. */
  name: string;
  /** Its hostname: the name the cluster knows it by. */
  hostname: string;
  /** Its address on the underlay. */
  ip: string;
  /** Its state directory (inside the host's mount namespace view, a plain path on the machine). */
  stateDir: string;
  /** The pid of its init (pid 1 of its pid namespace), as seen from the test. */
  initPid: number;
  /** The veth end in the private host, towards the underlay bridge. */
  uplink: string;
  /** argv prefix that runs a command inside the host (net, mount and pid namespaces). */
  enter(argv: string[]): string[];
  /** Runs a command inside the host, resolves with its exit status and output. */
  run(argv: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<{ status: number; stdout: string; stderr: string }>;
  /**
   * Starts a command inside the host without waiting: kill() SIGKILLs the command itself (not
   * nsenter) and says whether it was still running; done resolves when it ends.
   */
  start(argv: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): { done: Promise<{ status: number; stdout: string; stderr: string }>; kill(): boolean };
  /** The environment `tsnet` commands run with in the host (its state directory and config). */
  env: NodeJS.ProcessEnv;
  /** Runs `tsnet …` inside the host against its state directory and config. */
  tsnet(args: string[], opts?: { timeoutMs?: number }): Promise<{ status: number; stdout: string; stderr: string }>;
  /** Starts `tsnet daemon` in the host (in the background; it stays until stopDaemon or kill). */
  startDaemon(extraArgs?: string[]): Promise<void>;
  /** SIGTERMs the daemon and waits for it to exit. */
  stopDaemon(): Promise<void>;
  /** SIGKILLs every tsnet process in the host (the daemon, its children), leaving the namespaces. */
  killTsnet(): void;
  /** Cuts (true) or restores (false) the host's underlay link. */
  partition(cut: boolean): Promise<void>;
  /** Kills everything in the host: its namespaces go with the last process. */
  destroy(): Promise<void>;
}

/**
 * A shell command that runs cmd in each overlay network namespace of a host (where tsnet's
 * overlay keeps its bridges and VXLAN devices: src/drivers/overlay/devices.ts) and prints its output.
 */
export const inOverlayNamespaces = (cmd: string): string[] =>
  ['sh', '-c', `for n in $(ls /run/netns 2>/dev/null | grep '^tsnet-ov-'); do ip netns exec "$n" ${cmd}; done`];

/** Options of a cluster of simulated hosts. */
export interface ClusterOptions {
  /** Prefix of names made on the private host (unique per run). */
  tag: string;
  /** Cluster store URL the hosts' daemon.json names, e.g. etcd://10.77.0.1:2379. */
  clusterStore?: string;
  /** Extra daemon.json keys for every host. */
  config?: Record<string, unknown>;
}

/** Creates the underlay bridge (in the private host, address UNDERLAY.gateway) once per cluster. */
export async function createUnderlay(tag: string): Promise<{ bridge: string; remove(): Promise<void> }> {
  const bridge = `ul-${tag}`.slice(0, 15);
  const h = NetlinkHandle.open();
  try {
    const br = await h.createBridge(bridge);
    await h.addAddr(br.index, `${UNDERLAY.gateway}/${UNDERLAY.prefix}`);
    await h.setUp(br.index);
  } finally {
    h.close();
  }
  return {
    bridge,
    async remove() {
      const h2 = NetlinkHandle.open();
      try {
        await h2.deleteLink(bridge).catch(() => undefined);
      } finally {
        h2.close();
      }
    },
  };
}

/** Output of a finished process. */
function collect(child: ChildProcess, timeoutMs: number): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '', stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1), stdout, stderr });
    });
  });
}

/** Starts simulated host number i (1-based) of the cluster, attached to the underlay bridge. */
export async function createHost(cluster: ClusterOptions, underlay: string, i: number): Promise<SimHost> {
  const name = `h${i}`;
  const ip = `10.77.0.${10 + i}`;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-${cluster.tag}-${name}-`));
  const configFile = path.join(stateDir, 'daemon.json');
  fs.writeFileSync(configFile, JSON.stringify({
    ...(cluster.clusterStore ? { 'cluster-store': cluster.clusterStore, 'cluster-advertise': ip } : {}),
    ...(cluster.config ?? {}),
  }));
  // pid 1 of the host mounts its private /run/netns and /run/tsnet, then waits; everything else enters it.
  // Its own UTS namespace too: a host's name is its name in the cluster.
  const init = spawn('unshare', ['--net', '--mount', '--pid', '--uts', '--fork', '--propagation', 'private', '--', 'sh', '-c',
    `hostname ${name}-${cluster.tag}; mount -t proc proc /proc; mount -t tmpfs tmpfs /run/netns 2>/dev/null || { mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns; }; mkdir -p /run/tsnet && mount -t tmpfs tmpfs /run/tsnet; echo ready; exec sleep infinity`],
  { stdio: ['ignore', 'pipe', 'inherit'], detached: false });
  await new Promise<void>((resolve, reject) => {
    init.stdout!.once('data', () => resolve());
    init.once('exit', (code) => reject(new Error(`host ${name}: init exited ${code}`)));
  });
  // The unshare process forks; its child (the sh turned sleep) is pid 1 inside: find it.
  const initPid = Number(fs.readFileSync(`/proc/${init.pid}/task/${init.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  const uplink = `ul${cluster.tag}${i}`.slice(0, 15);
  const h = NetlinkHandle.open();
  const nsFd = fs.openSync(`/proc/${initPid}/ns/net`, 'r');
  try {
    const link = await h.createVeth(uplink, 'eth0', { peerNetnsFd: nsFd });
    const br = await h.mustGetLink(underlay);
    await h.setMaster(link.index, br.index);
    await h.setUp(link.index);
  } finally {
    fs.closeSync(nsFd);
    h.close();
  }
  const enter = (argv: string[]) => ['nsenter', `--target=${initPid}`, '--net', '--mount', '--pid', '--uts', '--', ...argv];
  const env = { ...process.env, TSNET_STATE_DIR: stateDir, TSNET_CONFIG: configFile, TSNET_PRIVATE_HOST: '1' };
  const runIn = (argv: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) => {
    const [cmd, ...args] = enter(argv);
    const o: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? env };
    return collect(spawn(cmd, args, o), opts.timeoutMs ?? 30000);
  };
  const sh = async (script: string) => {
    const r = await runIn(['sh', '-c', script]);
    if (r.status !== 0) throw new Error(`host ${name}: ${script}: ${r.stderr}`);
  };
  await sh(`ip link set lo up && ip addr add ${ip}/${UNDERLAY.prefix} dev eth0 && ip link set eth0 up && ip route add default via ${UNDERLAY.gateway}`);
  let daemon: ChildProcess | undefined;
  const host: SimHost = {
    name, hostname: `${name}-${cluster.tag}`, ip, stateDir, initPid, uplink, enter, env,
    run: runIn,
    start(argv, opts = {}) {
      const [cmd, ...args] = enter(argv);
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env, ...opts.env } });
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input ?? '');
      const done = collect(child, opts.timeoutMs ?? 60000);
      return {
        done,
        kill() {
          // nsenter --pid forks the command: its only child, by the pid the machine knows it by.
          if (child.exitCode !== null || child.signalCode !== null) return false;
          let pid: number | undefined;
          try {
            pid = Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined;
          } catch {
            return false;
          }
          if (!pid) return false;
          try {
            process.kill(pid, 'SIGKILL');
            return true;
          } catch {
            return false;
          }
        },
      };
    },
    tsnet: (args, opts) => runIn([process.execPath, CLI, ...args], opts),
    async startDaemon(extraArgs = []) {
      // A daemon killed with SIGKILL leaves its socket file: ready means a new one answers.
      fs.rmSync(path.join(stateDir, 'daemon.sock'), { force: true });
      const [cmd, ...args] = enter([process.execPath, CLI, 'daemon', ...extraArgs]);
      const log = fs.openSync(path.join(stateDir, 'daemon-test.log'), 'a');
      daemon = spawn(cmd, args, { stdio: ['ignore', log, log], env });
      fs.closeSync(log);
      // Ready once its control socket answers (30 s: a start can take long on a loaded machine, as seed 3 of the chaos suite once did).
      const deadline = Date.now() + 30000;
      while (Date.now() < deadline) {
        if (fs.existsSync(path.join(stateDir, 'daemon.sock'))) return;
        if (daemon.exitCode !== null) throw new Error(`host ${name}: daemon exited ${daemon.exitCode}: ${fs.readFileSync(path.join(stateDir, 'daemon-test.log'), 'utf8').slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`host ${name}: daemon did not start within 30 s: ${fs.readFileSync(path.join(stateDir, 'daemon-test.log'), 'utf8').slice(-2000)}`);
    },
    async stopDaemon() {
      const d = daemon;
      daemon = undefined;
      if (!d || d.exitCode !== null || d.signalCode !== null) return;
      // SIGTERM to the daemon itself (its pid as the host's pid namespace numbers it): nsenter need not forward signals.
      const pidFile = path.join(stateDir, 'daemon.pid');
      const pid = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '';
      if (pid) spawnSync('nsenter', [`--target=${initPid}`, '--pid', '--mount', '--', 'kill', '-TERM', pid]);
      else d.kill('SIGTERM');
      const exited = new Promise((r) => d.once('exit', r));
      const timer = setTimeout(() => {
        if (pid) spawnSync('nsenter', [`--target=${initPid}`, '--pid', '--mount', '--', 'kill', '-KILL', pid]);
        d.kill('SIGKILL');
      }, 10000);
      await exited;
      clearTimeout(timer);
    },
    killTsnet() {
      // Every process of the host but its pid 1: the daemon, its supervised children, any command.
      spawnSync('nsenter', [`--target=${initPid}`, '--pid', '--mount', '--', 'sh', '-c', 'for p in /proc/[0-9]*; do n=${p#/proc/}; [ "$n" = 1 ] || [ "$n" = $$ ] || kill -9 "$n" 2>/dev/null; done; true']);
      daemon = undefined;
    },
    async partition(cut) {
      const h2 = NetlinkHandle.open();
      try {
        const link = await h2.mustGetLink(uplink);
        if (cut) await h2.setDown(link.index);
        else await h2.setUp(link.index);
      } finally {
        h2.close();
      }
    },
    async destroy() {
      await host.stopDaemon().catch(() => undefined);
      try {
        process.kill(initPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      init.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
      const h2 = NetlinkHandle.open();
      try {
        await h2.deleteLink(uplink).catch(() => undefined);
      } finally {
        h2.close();
      }
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return host;
}

/** Creates an underlay and n hosts on it; destroy() removes all of it, also after a failed test. */
export async function createCluster(n: number, o: ClusterOptions): Promise<{ hosts: SimHost[]; destroy(): Promise<void> }> {
  const underlay = await createUnderlay(o.tag);
  const hosts: SimHost[] = [];
  try {
    for (let i = 1; i <= n; i++) hosts.push(await createHost(o, underlay.bridge, i));
  } catch (err) {
    for (const h of hosts) await h.destroy();
    await underlay.remove();
    throw err;
  }
  return {
    hosts,
    async destroy() {
      for (const h of hosts) await h.destroy();
      await underlay.remove();
    },
  };
}
