/**
 * Debian's containerd (1.6) run privately in the test's private host: its root, state, socket,
 * runc root and config under a temp directory, and tmpfs mounts (in the private host's own mount
 * namespace) over the fixed paths `ctr run --cni` and containerd's shims use: /etc/cni/net.d and
 * /opt/cni/bin (go-cni's defaults, which ctr cannot change) and /run/containerd (shim sockets).
 * Containers go in cgroups under a parent of the test's own, removed at stop().
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The directories ctr's CNI support reads: go-cni's defaults. */
export const CNI_CONF_DIR = '/etc/cni/net.d';
export const CNI_BIN_DIR = '/opt/cni/bin';
/** Where containerd 1.6 puts shim sockets, whatever its --state says. */
const SHIM_SOCKET_ROOT = '/run/containerd';
const CGROUP_ROOT = '/sys/fs/cgroup';

/** One command's outcome. */
export interface CtrRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A private containerd; stop() in after(), also on failure. */
export class Containerd {
  readonly dir: string;
  readonly socket: string;
  /** The containerd namespace the test's containers live in. */
  readonly namespace: string;
  /** Cgroup parent of every container (cgroupfs path). */
  readonly cgroupParent: string;
  private daemon?: ChildProcess;
  private readonly mounts: string[] = [];
  private readonly made: string[] = [];

  private constructor(tag: string) {
    if (process.env.TSNET_PRIVATE_HOST !== '1') throw new Error('containerd helper: run inside the private host (test/helpers/private-host.ts)');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-containerd-${tag}-`));
    this.socket = path.join(this.dir, 'containerd.sock');
    this.namespace = `t${tag}`;
    this.cgroupParent = `/tsnet-ctr-${tag}`;
  }

  /** Mounts the private paths, starts containerd and waits until it answers. */
  static async start(tag: string): Promise<Containerd> {
    const c = new Containerd(tag);
    try {
      for (const dir of [CNI_CONF_DIR, '/opt', SHIM_SOCKET_ROOT]) c.mountTmpfs(dir);
      fs.mkdirSync(CNI_BIN_DIR, { recursive: true });
      fs.writeFileSync(path.join(c.dir, 'config.toml'), c.config());
      const log = fs.openSync(path.join(c.dir, 'containerd.log'), 'a');
      c.daemon = spawn('containerd', ['--config', path.join(c.dir, 'config.toml')], { stdio: ['ignore', log, log] });
      fs.closeSync(log);
      for (let i = 0; i < 100; i++) {
        if ((await c.ctr(['version'])).code === 0) return c;
        if (c.daemon.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`containerd did not come up: ${fs.readFileSync(path.join(c.dir, 'containerd.log'), 'utf8').slice(-2000)}`);
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** Mounts a tmpfs over dir in the private host's mount namespace (creating dir, and removing it later, when missing). */
  private mountTmpfs(dir: string): void {
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.made.push(dir);
    }
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', dir]);
    this.mounts.push(dir);
  }

  private config(): string {
    return [
      'version = 2', `root = "${this.dir}/root"`, `state = "${this.dir}/state"`,
      // No CRI: it would look for its own CNI config and a pause image; ctr needs neither.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      `[grpc]\n  address = "${this.socket}"`, `[ttrpc]\n  address = "${this.socket}.ttrpc"`,
      '[debug]\n  address = ""', '[metrics]\n  address = ""',
      `[plugins."io.containerd.internal.v1.opt"]\n  path = "${this.dir}/opt"`, '',
    ].join('\n');
  }

  /** Runs `ctr ARGS…` against this containerd, in the test's namespace. */
  ctr(args: string[], timeoutMs = 60000): Promise<CtrRun> {
    return new Promise((resolve) => {
      execFile('ctr', ['--address', this.socket, '--namespace', this.namespace, ...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** `ctr run` options every container gets: the native snapshotter, the test's cgroup parent and runc root. */
  runOptions(id: string): string[] {
    return ['--snapshotter', 'native', '--cgroup', `${this.cgroupParent}/${id}`, '--runc-root', path.join(this.dir, 'runc')];
  }

  /** Starts `ctr run ARGS…` attached (ctr runs the CNI DEL itself when the task exits); the caller waits for it. */
  spawnRun(args: string[]): ChildProcess {
    return spawn('ctr', ['--address', this.socket, '--namespace', this.namespace, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The cgroup directories left under the test's parent, in every hierarchy. */
  cgroupsLeft(): string[] {
    return this.cgroupDirs().flatMap((d) => [d, ...fs.readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(e.parentPath ?? e.path, e.name))]);
  }

  private cgroupDirs(): string[] {
    const parent = this.cgroupParent.slice(1);
    return [path.join(CGROUP_ROOT, parent), ...fs.readdirSync(CGROUP_ROOT).map((h) => path.join(CGROUP_ROOT, h, parent))].filter((d) => fs.existsSync(d));
  }

  /** Removes the cgroup parent everywhere, deepest first, waiting for exiting processes. */
  async removeCgroups(): Promise<void> {
    for (let attempt = 0; attempt < 50 && this.cgroupDirs().length; attempt++) {
      for (const d of this.cgroupsLeft().sort((a, b) => b.length - a.length)) {
        try {
          fs.rmdirSync(d);
        } catch {
          // A process is still leaving; next round.
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills what the test left running, stops containerd, removes cgroups, mounts and the temp directory; never throws. */
  async stop(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) {
      for (const id of (await this.ctr(['task', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) {
        await this.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
        await this.ctr(['task', 'delete', '-f', id]);
      }
      for (const id of (await this.ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await this.ctr(['container', 'delete', id]);
      const exited = new Promise((r) => this.daemon!.once('exit', r));
      this.daemon.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.daemon.exitCode === null && this.daemon.signalCode === null) this.daemon.kill('SIGKILL');
    }
    await this.removeCgroups();
    for (const dir of this.mounts.splice(0).reverse()) {
      try {
        execFileSync('umount', [dir]);
      } catch {
        // Busy: the private host's mount namespace goes with the run anyway.
      }
    }
    for (const dir of this.made.splice(0).reverse()) {
      try {
        // Made by this run, so all in it is the run's: a shim that outlived the umount may have
        // written into the machine's own directory under the mount (fifo/, s/), which goes too.
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // Still mounted (busy): the private host's mount namespace goes with the run anyway.
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
