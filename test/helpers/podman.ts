/**
 * The real podman (Debian's 4.3) confined to the test's private host: its storage, run root, temp
 * and lock files, events log and network configs in one temp directory; podman's fixed directories
 * on tmpfs mounts of the private host's own mount namespace (the CNI cache, libcni's /var/lib/cni,
 * for the cni backend; /run/containers, where rootful netavark keeps its IPAM database, for the
 * netavark backend); containers in cgroups (cgroupfs) under a parent of the test's own that cleanup
 * empties and removes. Parametrised by network backend: 'cni' (plugins from cniPluginDirs, e.g.
 * tsnet-cni) or 'netavark' (helper binaries from helperBinariesDir, e.g. tsnet-netavark installed as
 * `netavark`: createPodmanHost). minimalEnv runs podman as its cleanup process runs, without the
 * test's environment (no TSNET_STATE_DIR).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { helperTarget, placeHelper } from '../../plugins/netavark/install';

/** podman's two network backends. */
export type PodmanBackend = 'cni' | 'netavark';

/** How to set podman up. */
export interface PodmanOptions {
  backend: PodmanBackend;
  /** Unique per run: names the temp directory and the cgroup parent. */
  tag: string;
  /** cni: plugin directories, searched in order (put tsnet-cni's first). */
  cniPluginDirs?: string[];
  /** netavark: directories podman finds `netavark` and `aardvark-dns` in. */
  helperBinariesDir?: string[];
  /** Run podman with PATH, HOME and its config variables only, as its cleanup process runs. */
  minimalEnv?: boolean;
}

/** One podman command's outcome. */
export interface PodmanRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** libcni's cache directory: results and ports of every attachment (not configurable through podman). */
const CNI_CACHE_DIR = '/var/lib/cni';
/** Podman's run dir for rootful networks (netavark's --config), fixed in podman. */
const PODMAN_RUN_DIR = '/run/containers';
const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Container limits low enough for any machine: podman's defaults (rootful: nofile and nproc at the
 * kernel's maximum) are refused where the test runs without CAP_SYS_RESOURCE, as on this VM.
 */
const ULIMITS = ['nofile=1024:1024', 'nproc=1024:1024'];

/** A private podman; call cleanup() in after(), also on failure. */
export class Podman {
  /** Everything podman writes, but the CNI cache and cgroups. */
  readonly dir: string;
  /** Where network definitions live (CNI conflists, or netavark's JSON files). */
  readonly networkConfigDir: string;
  /** The cgroup parent of every container this podman runs (absolute, cgroupfs). */
  readonly cgroupParent: string;
  private readonly env: NodeJS.ProcessEnv;
  private mountedCache = false;
  private heldRunDir = false;

  private constructor(readonly opts: PodmanOptions) {
    if (process.env.TSNET_PRIVATE_HOST !== '1') throw new Error('podman helper: run inside the private host (test/helpers/private-host.ts)');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-podman-${opts.tag}-`));
    this.networkConfigDir = path.join(this.dir, 'networks');
    this.cgroupParent = `/tsnet-podman-${opts.tag}`;
    for (const d of ['root', 'runroot', 'tmp', 'networks', 'imgtmp']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
    const conf = path.join(this.dir, 'containers.conf'), storage = path.join(this.dir, 'storage.conf');
    fs.writeFileSync(conf, this.containersConf());
    fs.writeFileSync(storage, `[storage]\ndriver = "vfs"\nrunroot = "${this.dir}/runroot"\ngraphroot = "${this.dir}/root"\n`);
    const own = { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage, TMPDIR: path.join(this.dir, 'imgtmp') };
    this.env = opts.minimalEnv ? { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: this.dir, ...own } : { ...process.env, ...own };
  }

  /** Sets podman up (for cni, a private CNI cache; for netavark, a private /run/containers). */
  static async start(opts: PodmanOptions): Promise<Podman> {
    const p = new Podman(opts);
    if (opts.backend === 'cni') {
      fs.mkdirSync(CNI_CACHE_DIR, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', CNI_CACHE_DIR]);
      p.mountedCache = true;
    } else {
      try {
        holdRunDir();
      } catch (err) {
        fs.rmSync(p.dir, { recursive: true, force: true });
        throw err;
      }
      p.heldRunDir = true;
    }
    return p;
  }

  private containersConf(): string {
    const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
    const network = this.opts.backend === 'cni'
      ? `network_backend = "cni"\ncni_plugin_dirs = ${list(this.opts.cniPluginDirs ?? ['/usr/lib/cni'])}\n`
      : 'network_backend = "netavark"\n';
    const helpers = this.opts.helperBinariesDir ? `helper_binaries_dir = ${list(this.opts.helperBinariesDir)}\n` : '';
    return `[containers]\ndefault_ulimits = ${list(ULIMITS)}\n`
      + `[network]\n${network}network_config_dir = "${this.networkConfigDir}"\n`
      + `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "${this.dir}/events.log"\n`
      + `lock_type = "file"\ntmp_dir = "${this.dir}/tmp"\nruntime = "runc"\n${helpers}`;
  }

  /** Runs `podman ARGS…` and resolves with its outcome (never rejects on a non-zero exit). */
  exec(args: string[], timeoutMs = 120000): Promise<PodmanRun> {
    const global = ['--cgroup-manager', 'cgroupfs', '--network-backend', this.opts.backend];
    return new Promise((resolve) => {
      execFile('podman', [...global, ...args], { env: this.env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs `podman ARGS…`; throws with its stderr unless it succeeds; resolves with stdout. */
  async must(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.exec(args, timeoutMs);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `podman run` with the test's cgroup parent; the rest as given. */
  run(args: string[], timeoutMs?: number): Promise<PodmanRun> {
    return this.exec(['run', '--cgroup-parent', this.cgroupParent, ...args], timeoutMs);
  }

  /** Imports a root filesystem tar as image ref (no registry involved). */
  async importImage(layerTar: string, ref: string): Promise<void> {
    await this.must(['import', '-q', layerTar, ref]);
  }

  /** Writes a CNI conflist (cni backend) as podman would find it; returns its path. */
  writeConflist(name: string, conflist: object): string {
    const file = path.join(this.networkConfigDir, `${name}.conflist`);
    fs.writeFileSync(file, JSON.stringify(conflist, null, 2));
    return file;
  }

  /** Names of the CNI cache's entries (results, port files): empty once every container is gone. */
  cniCache(): string[] {
    if (!fs.existsSync(CNI_CACHE_DIR)) return [];
    return fs.readdirSync(CNI_CACHE_DIR, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
  }

  /** The cgroup directories left under the test's parent, in every hierarchy. */
  cgroupsLeft(): string[] {
    return this.cgroupDirs().flatMap((d) => fs.readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(e.parentPath ?? e.path, e.name)));
  }

  private cgroupDirs(): string[] {
    const parent = this.cgroupParent.slice(1);
    const candidates = [path.join(CGROUP_ROOT, parent), ...fs.readdirSync(CGROUP_ROOT).map((h) => path.join(CGROUP_ROOT, h, parent))];
    return candidates.filter((d) => fs.existsSync(d));
  }

  /** Removes every container, pod and network podman knows, then the cgroup parent, the CNI cache mount and the temp directory; never throws. */
  async cleanup(): Promise<void> {
    await this.exec(['rm', '-af', '-t', '0']);
    await this.exec(['pod', 'rm', '-af']);
    // podman's own default network cannot be removed; the others can.
    const nets = (await this.exec(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter((n) => n && n !== 'podman');
    if (nets.length) await this.exec(['network', 'rm', '-f', ...nets]);
    await this.removeCgroups();
    if (this.heldRunDir) {
      releaseRunDir();
      this.heldRunDir = false;
    }
    if (this.mountedCache) {
      try {
        execFileSync('umount', [CNI_CACHE_DIR]);
        this.mountedCache = false;
      } catch {
        // Busy: the private host's mount namespace goes with the run anyway.
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Removes the cgroup parent in every hierarchy, deepest first, waiting for exiting processes
   * (conmon) to leave; after 2 s, kills what is still there (only this podman's containers can be).
   */
  async removeCgroups(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const dirs = this.cgroupDirs();
      if (!dirs.length) return;
      if (attempt === 20) for (const pid of dirs.flatMap(cgroupPids)) killQuietly(pid);
      for (const top of dirs) {
        const all = [top, ...this.cgroupsLeft().filter((d) => d.startsWith(`${top}/`))].sort((a, b) => b.length - a.length);
        for (const d of all) {
          try {
            fs.rmdirSync(d);
          } catch {
            // Still has a process; next round.
          }
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs argv with env, stdin optional; never rejects. */
export function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<PodmanRun> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: opts.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    // A command that exits without reading its stdin must not fail the caller with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

let runDirUsers = 0;
let madeRunDir = false;

/** Mounts a tmpfs over /run/containers for this mount namespace (once for all podmans of the process). */
function holdRunDir(): void {
  if (runDirUsers++ > 0) return;
  if (!fs.existsSync(PODMAN_RUN_DIR)) {
    fs.mkdirSync(PODMAN_RUN_DIR);
    madeRunDir = true;
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', PODMAN_RUN_DIR], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    runDirUsers--;
    if (madeRunDir) fs.rmdirSync(PODMAN_RUN_DIR);
    madeRunDir = false;
    throw new Error(`mount tmpfs on ${PODMAN_RUN_DIR}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
}

/** Unmounts /run/containers when the last podman of the process is done with it. */
function releaseRunDir(): void {
  if (--runDirUsers > 0) return;
  try {
    execFileSync('umount', [PODMAN_RUN_DIR], { stdio: 'ignore' });
    if (madeRunDir) fs.rmdirSync(PODMAN_RUN_DIR);
  } catch {
    // Busy: the private host's mount namespace goes with the run anyway.
  }
  madeRunDir = false;
}

/** Processes still in a cgroup tree (v1 or v2). */
function cgroupPids(root: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.push(Number(p));
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      // Gone meanwhile.
    }
  };
  walk(root);
  return pids;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Tools put into the netavark hosts' busybox image. */
const APPLETS = ['sh', 'cat', 'sleep', 'true', 'wget', 'httpd', 'nslookup', 'ping', 'ip', 'timeout', 'echo', 'grep', 'hostname'];
/** Debian's netavark and aardvark-dns. */
const DEBIAN_HELPERS = '/usr/lib/podman';

/** A busybox-static root filesystem as a tarball, for `podman import` (no registry here); httpd serves "hello from podman". */
async function imageTar(dir: string): Promise<string> {
  const root = path.join(dir, 'image');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'www'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', a));
  fs.writeFileSync(path.join(root, 'www', 'index.html'), 'hello from podman\n');
  const tar = path.join(dir, 'image.tar');
  const r = await exec('tar', ['-C', root, '-cf', tar, '.']);
  if (r.code) throw new Error(`tar: ${r.stderr}`);
  return tar;
}

/** A podman on its netavark backend, its helper and image in place. */
export interface PodmanHost {
  backend: 'tsnet' | 'netavark';
  podman: Podman;
  /** The busybox image, imported into this host's storage. */
  image: string;
  /** The helper podman runs as netavark. */
  helper: string;
  /** `podman ARGS…`; throws on a non-zero exit unless allowFail. */
  must(args: string[], opts?: { allowFail?: boolean }): Promise<PodmanRun>;
  /** `podman run` under the test's cgroup parent; throws on a non-zero exit unless allowFail. */
  run(args: string[], opts?: { allowFail?: boolean }): Promise<PodmanRun>;
  /** Removes every container and network, the cgroup parent, the run dir mount and the temp dirs; never throws. */
  close(): Promise<void>;
}

/**
 * A podman on its netavark backend with a minimal environment (no TSNET_STATE_DIR, as its cleanup
 * process runs): its helper_binaries_dir holds tsnet-netavark installed as `netavark` (backend
 * 'tsnet', state directory stateDir, else $TSNET_STATE_DIR) or Debian's netavark and (unless
 * aardvark: false) aardvark-dns (backend 'netavark'). tag makes names unique.
 */
export async function createPodmanHost(o: { backend: 'tsnet' | 'netavark'; tag: string; stateDir?: string; aardvark?: boolean }): Promise<PodmanHost> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `podman-${o.backend}-`));
  const helpers = path.join(dir, 'helpers');
  fs.mkdirSync(helpers);
  let helper: string;
  if (o.backend === 'tsnet') {
    helper = placeHelper(helpers, 'netavark', o.stateDir ?? process.env.TSNET_STATE_DIR ?? '/var/lib/tsnet', { entry: await helperTarget() }).file;
  } else {
    helper = path.join(helpers, 'netavark');
    fs.symlinkSync(path.join(DEBIAN_HELPERS, 'netavark'), helper);
    // Without aardvark-dns podman passes --aardvark-binary= and netavark serves no names.
    if (o.aardvark !== false) fs.symlinkSync(path.join(DEBIAN_HELPERS, 'aardvark-dns'), path.join(helpers, 'aardvark-dns'));
  }
  let podman: Podman;
  try {
    podman = await Podman.start({ backend: 'netavark', tag: `${o.tag}-${o.backend}${o.aardvark === false ? '-nodns' : ''}`, helperBinariesDir: [helpers], minimalEnv: true });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const checked = async (r: PodmanRun, args: string[], allowFail?: boolean) => {
    if (r.code && !allowFail) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()} ${r.stdout.trim()}`);
    return r;
  };
  const image = `localhost/tsnet-busybox:${o.tag}`;
  const host: PodmanHost = {
    backend: o.backend, podman, image, helper,
    must: async (args, opts = {}) => checked(await podman.exec(args), args, opts.allowFail),
    run: async (args, opts = {}) => checked(await podman.run(args), ['run', ...args], opts.allowFail),
    async close() {
      await podman.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await podman.importImage(await imageTar(dir), image);
  } catch (err) {
    await host.close();
    throw err;
  }
  return host;
}
