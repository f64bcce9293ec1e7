/**
 * A private Docker engine for the plugin tests: Debian's dockerd with its own data root, exec root,
 * pid file and API socket under one temp dir, no docker0, no iptables of its own (tsnet's firewall
 * does NAT and publishing) and the vfs storage driver (no overlay or cgroup features needed), plus
 * a tiny image imported from busybox-static (no registry access).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Image every test container runs: busybox applets and a page for httpd. */
export const IMAGE = 'tsnet-busybox:test';
/** What /www/index.html of the image holds. */
export const PAGE = 'tsnet-docker-page';
const APPLETS = ['sh', 'sleep', 'ping', 'wget', 'httpd', 'ip', 'cat', 'nslookup', 'hostname', 'nc', 'timeout', 'true'];
/** containerd's shims put their sockets here whatever containerd's own state dir is. */
const SHIM_DIR = '/run/containerd';

/** The docker CLI of the docker.io package (a newer client may sit earlier on PATH). */
function dockerCli(): string {
  return fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
}

/** Whether an executable is installed. */
function have(file: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => fs.existsSync(path.join(d, file)));
}

/**
 * Installs docker.io and busybox-static when missing. The private host has no network, so apt runs
 * in the machine's network namespace (the only thing it needs from there is the Debian mirror).
 */
export function ensurePackages(): string | undefined {
  if (have('dockerd') && have('containerd') && have('runc') && fs.existsSync('/bin/busybox')) return undefined;
  const r = spawnSync('nsenter', ['--net=/proc/1/ns/net', '--', 'apt-get', 'install', '-y', 'docker.io', 'busybox-static'], {
    encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000,
  });
  if (r.status !== 0) return `apt-get install docker.io busybox-static failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`;
  return have('dockerd') ? undefined : 'dockerd is still missing after installing docker.io';
}

/** A running dockerd and the CLI bound to it. */
export class Engine {
  private proc?: ChildProcess;
  private shimMount = false;
  private madeShimDir = false;

  private constructor(readonly dir: string) {}

  /** Creates the engine's directories (nothing runs yet). */
  static prepare(): Engine {
    return new Engine(fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-dockerd-')));
  }

  /** The engine's API socket. */
  get socket(): string {
    return path.join(this.dir, 'docker.sock');
  }

  /** Where the engine keeps its sandboxes' namespaces (SandboxKey directory). */
  get netnsDir(): string {
    return path.join(this.dir, 'exec', 'netns');
  }

  /** Starts dockerd and waits until it answers; throws with the log's tail when it does not. */
  async start(): Promise<void> {
    this.privateShimDir();
    const log = fs.openSync(path.join(this.dir, 'dockerd.log'), 'a');
    this.proc = spawn('dockerd', [
      '--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '--pidfile', path.join(this.dir, 'dockerd.pid'),
      '-H', `unix://${this.socket}`, '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--storage-driver=vfs',
      '--containerd-namespace', 'tsnet-test', '--containerd-plugins-namespace', 'tsnet-test-plugins', '--debug',
    ], { stdio: ['ignore', log, log], env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` } });
    fs.closeSync(log);
    const exited = new Promise<string>((resolve) => {
      this.proc!.once('exit', (code) => resolve(`dockerd exited with ${code}`));
      this.proc!.once('error', (err) => resolve(`dockerd could not be run: ${err.message}`));
    });
    for (let i = 0; i < 120; i++) {
      const done = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 500))]);
      if (done) throw new Error(`${done}: ${this.logTail()}`);
      if (fs.existsSync(this.socket) && (await this.docker('version', '--format', '{{.Server.Version}}').then(() => true, () => false))) return;
    }
    throw new Error(`dockerd did not answer within 60 s: ${this.logTail()}`);
  }

  /** Stops dockerd (it stops its containers and containerd first); waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    this.proc = undefined;
  }

  /** Runs the docker CLI against this engine; rejects with stderr on failure. */
  async docker(...args: string[]): Promise<string> {
    return (await this.dockerRaw(...args)).trim();
  }

  /** Runs the docker CLI against this engine and returns stdout byte for byte; rejects with stderr on failure. */
  async dockerRaw(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run(dockerCli(), ['-H', `unix://${this.socket}`, ...args], { env: { ...process.env, DOCKER_CONFIG: path.join(this.dir, 'cli') }, timeout: 120_000 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`docker ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
    }
  }

  /** Imports the busybox image from a tarball built here. */
  async importImage(): Promise<void> {
    const root = path.join(this.dir, 'rootfs');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(root, 'www'));
    fs.mkdirSync(path.join(root, 'tmp'));
    fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
    fs.writeFileSync(path.join(root, 'www', 'index.html'), `${PAGE}\n`);
    const tar = path.join(this.dir, 'rootfs.tar');
    await run('tar', ['-C', root, '-cf', tar, '.']);
    await this.docker('import', tar, IMAGE);
  }

  /** Stops the engine and removes its directories (unmounting what it left mounted in this mount namespace). */
  async remove(): Promise<void> {
    await this.stop();
    for (const mount of mountsUnder(this.dir).reverse()) spawnSync('umount', ['-l', mount]);
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.shimMount) spawnSync('umount', ['-l', SHIM_DIR]);
    if (this.madeShimDir) fs.rmdirSync(SHIM_DIR);
    this.shimMount = this.madeShimDir = false;
  }

  /** The last lines of dockerd's log, for failure messages. */
  logTail(lines = 15): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** A tmpfs over the shims' socket dir, visible only in this mount namespace, so no socket outlives the test. */
  private privateShimDir(): void {
    if (this.shimMount) return;
    if (!fs.existsSync(SHIM_DIR)) {
      fs.mkdirSync(SHIM_DIR, { mode: 0o711 });
      this.madeShimDir = true;
    }
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=711', 'tmpfs', SHIM_DIR]);
    this.shimMount = r.status === 0;
  }
}

/** Mount points at or below dir in this mount namespace, shallowest first. */
function mountsUnder(dir: string): string[] {
  const real = fs.realpathSync(dir);
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === real || m.startsWith(real + '/')))
    .sort((a, b) => a.length - b.length);
}
