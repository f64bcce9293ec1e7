/**
 * CLI latency as an administrator sees it: whole processes, wall time, median of alternating runs,
 * in one run beside `node -e 0` and Docker's own CLI against a private dockerd (Debian's docker.io).
 *   direct   the thin client with TSNET_CLI_DAEMON=0, i.e. the bundled node CLI (build/src/cli/tsnet-cli.js,
 *            what runs where no daemon does): --help, ls, and create / rm / prune with a daemon
 *            running for DNS (so none of them starts one)
 *   daemon   the thin client (build/src/cli/tsnet) handing ls, inspect and a connect + disconnect
 *            pair of a live sandbox to `tsnet daemon`
 *   docker   `docker network ls`, `docker network inspect` and a connect + disconnect pair of a
 *            running container, against the private dockerd
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine, ensurePackages, IMAGE } from '../test/integration/docker/engine';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'build', 'src', 'cli', 'main.js');
const SHIM = path.join(ROOT, 'build', 'src', 'cli', 'tsnet');
const ROUNDS = Number(process.env.TSNET_BENCH_ROUNDS ?? 21);

/** Wall milliseconds of one process run; throws when it fails. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) * 10) / 10;
};
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** Runs each named measurement once per round, in turn, so load on the machine spreads over all of them. */
function alternate(measures: Record<string, (i: number) => number>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
  for (let i = 0; i < ROUNDS; i++) for (const [k, fn] of Object.entries(measures)) samples[k].push(fn(i));
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/** The installed command told to skip the daemon: the bundled node CLI, as on a host where none runs. */
const direct = (...args: string[]) => timed(SHIM, args, { ...process.env, TSNET_CLI_DAEMON: '0' });
const viaShim = (...args: string[]) => timed(SHIM, args);
const nodeZero = () => timed(process.execPath, ['-e', '0']);

/** Starts `tsnet daemon` (without the Docker plugin) and waits for its CLI socket. */
async function startDaemon(stateDir: string): Promise<() => Promise<void>> {
  const d = spawn(process.execPath, [CLI, 'daemon', '--no-docker-plugin'], { stdio: 'ignore' });
  const sock = path.join(stateDir, 'cli.sock');
  for (let i = 0; i < 300 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(sock)) throw new Error('tsnet daemon did not serve cli.sock within 30 s');
  return async () => {
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  };
}

/** Docker's side, or why it could not run. */
async function withDocker(fn: (docker: (...args: string[]) => number, engine: Engine) => Promise<Record<string, number>>): Promise<Record<string, number> | { unavailable: string }> {
  const missing = ensurePackages();
  if (missing) return { unavailable: missing };
  const engine = Engine.prepare();
  try {
    await engine.start();
    await engine.importImage();
    const cli = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
    const env = { ...process.env, DOCKER_CONFIG: path.join(engine.dir, 'cli') };
    const docker = (...args: string[]) => timed(cli, ['-H', `unix://${engine.socket}`, ...args], env);
    return await fn(docker, engine);
  } finally {
    await engine.remove();
  }
}

/** The CLI benchmark's JSON. */
export async function measureCli(): Promise<Record<string, unknown>> {
  const stateDir = process.env.TSNET_STATE_DIR!;
  if (!fs.existsSync(SHIM)) throw new Error(`${SHIM} missing: npm run build needs a C compiler for the thin client`);
  direct('ls');
  const noDaemon = alternate({ nodeZero: () => nodeZero(), help: () => direct('--help'), ls: () => direct('ls') });
  const stopDaemon = await startDaemon(stateDir);
  const tag = process.pid.toString(36);
  try {
    const changes = alternate({
      nodeZero: () => nodeZero(),
      create: (i) => direct('create', `bc-${tag}-${i}`),
      rm: (i) => direct('rm', `bc-${tag}-${i}`),
      prune: (i) => { direct('create', `bp-${tag}-${i}`); return direct('prune', '-f'); },
    });
    // Both sides: a live sandbox/container on one network, connected to and disconnected from a second.
    const [netA, netB, sb] = [`ba-${tag}`, `bb-${tag}`, `bs-${tag}`];
    viaShim('create', netA);
    viaShim('create', netB);
    viaShim('sandbox', 'create', sb, '--network', netA);
    const docker = await withDocker(async (d, engine) => {
      await engine.docker('network', 'create', netA);
      await engine.docker('network', 'create', netB);
      await engine.docker('run', '-d', '--name', sb, '--network', netA, IMAGE, 'sleep', '100000');
      const m = alternate({
        tsnetLs: () => viaShim('ls'),
        dockerLs: () => d('network', 'ls'),
        tsnetInspect: () => viaShim('inspect', netB),
        dockerInspect: () => d('network', 'inspect', netB),
        tsnetConnectDisconnect: () => viaShim('connect', netB, sb) + viaShim('disconnect', netB, sb),
        dockerConnectDisconnect: () => d('network', 'connect', netB, sb) + d('network', 'disconnect', netB, sb),
      });
      await engine.docker('rm', '-f', sb);
      return m;
    });
    viaShim('sandbox', 'rm', sb);
    viaShim('rm', netA, netB);
    const withDaemon = 'unavailable' in docker ? { docker } : {
      ms: docker,
      ratioToDocker: {
        ls: ratio(docker.tsnetLs, docker.dockerLs), inspect: ratio(docker.tsnetInspect, docker.dockerInspect), connectDisconnect: ratio(docker.tsnetConnectDisconnect, docker.dockerConnectDisconnect),
      },
    };
    return {
      rounds: ROUNDS,
      withoutDaemon: {
        ms: { nodeZero: noDaemon.nodeZero, help: noDaemon.help, ls: noDaemon.ls, nodeZeroWithDaemonRunning: changes.nodeZero, create: changes.create, rm: changes.rm, prune: changes.prune },
        ratioToNodeZero: { help: ratio(noDaemon.help, noDaemon.nodeZero), ls: ratio(noDaemon.ls, noDaemon.nodeZero), create: ratio(changes.create, changes.nodeZero), rm: ratio(changes.rm, changes.nodeZero), prune: ratio(changes.prune, changes.nodeZero) },
      },
      withDaemon,
    };
  } finally {
    await stopDaemon();
  }
}
