/**
 * Debian's podman 4.3 on its netavark backend, kept inside the test's private host: storage
 * (--root, --runroot), containers.conf (network_backend netavark, network_config_dir,
 * helper_binaries_dir, tmp_dir, file locks) in a temp dir; podman's fixed run dir
 * /run/containers under a tmpfs of this mount namespace; containers under a cgroupfs parent the
 * harness removes. The helper dir holds tsnet-netavark installed as `netavark` (backend 'tsnet')
 * or Debian's netavark and (unless aardvark: false) aardvark-dns (backend 'netavark'). Podman runs with a minimal
 * environment (no TSNET_STATE_DIR), as its cleanup process does.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { helperTarget, placeHelper } from '../../../plugins/netavark/install';

/** Podman's run dir for rootful networks (netavark's --config), fixed in podman. */
const PODMAN_RUN_DIR = '/run/containers';
/** Debian's netavark and aardvark-dns. */
const DEBIAN_HELPERS = '/usr/lib/podman';
/** Tools put into the busybox image. */
const APPLETS = ['sh', 'cat', 'sleep', 'true', 'wget', 'httpd', 'nslookup', 'ping', 'ip', 'timeout', 'echo', 'grep', 'hostname'];

/** What a command printed and how it ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv with env, stdin optional; never rejects. */
export function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Run> {
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

/** One podman installation in the private host. */
export interface PodmanHost {
  backend: 'tsnet' | 'netavark';
  dir: string;
  /** The busybox image, imported into this host's storage. */
  image: string;
  /** The helper podman runs as netavark. */
  helper: string;
  /** podman with the host's global flags; throws on a non-zero exit unless allowFail. */
  podman(args: string[], opts?: { allowFail?: boolean }): Promise<Run>;
  /** `podman run` under the harness's cgroup parent. */
  run(args: string[], opts?: { allowFail?: boolean }): Promise<Run>;
  /** Removes every container and network, the cgroup parent, the run dir mount and the temp dir; never throws. */
  close(): Promise<void>;
}

let runDirUsers = 0;
let madeRunDir = false;

/** Mounts a tmpfs over /run/containers for this mount namespace (once for all hosts of the process). */
async function holdRunDir(): Promise<void> {
  if (runDirUsers++ > 0) return;
  if (!fs.existsSync(PODMAN_RUN_DIR)) {
    fs.mkdirSync(PODMAN_RUN_DIR);
    madeRunDir = true;
  }
  const r = await exec('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', PODMAN_RUN_DIR]);
  if (r.code) {
    runDirUsers--;
    if (madeRunDir) fs.rmdirSync(PODMAN_RUN_DIR);
    madeRunDir = false;
    throw new Error(`mount tmpfs on ${PODMAN_RUN_DIR}: ${r.stderr}`);
  }
}

async function releaseRunDir(): Promise<void> {
  if (--runDirUsers > 0) return;
  await exec('umount', [PODMAN_RUN_DIR]);
  if (madeRunDir) fs.rmdirSync(PODMAN_RUN_DIR);
  madeRunDir = false;
}

/** A busybox-static root filesystem as a tarball, for `podman import` (no registry here). */
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

/** Processes still in a cgroup tree (v1 or v2), for killing leftovers by pid. */
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

/** The cgroup parent in every hierarchy it exists in. */
function cgroupDirs(parent: string): string[] {
  const base = '/sys/fs/cgroup';
  const candidates = [path.join(base, parent), ...fs.readdirSync(base).map((h) => path.join(base, h, parent))];
  return [...new Set(candidates)].filter((d) => fs.existsSync(d));
}

/** Removes a cgroup tree bottom-up, after killing what is left in it (only podman's containers of this host can be there). */
function removeCgroup(parent: string): void {
  for (const dir of cgroupDirs(parent)) {
    for (const pid of cgroupPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (let attempt = 0; attempt < 20 && cgroupDirs(parent).length; attempt++) {
    for (const dir of cgroupDirs(parent)) {
      const subdirs = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => [...subdirs(path.join(d, e.name)), path.join(d, e.name)]);
      try {
        for (const d of [...subdirs(dir), dir]) fs.rmdirSync(d);
      } catch {
        // Busy for a moment while killed processes exit: retried.
      }
    }
    if (cgroupDirs(parent).length) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

/** Sets up a podman installation with the given backend; tag makes names unique. */
export async function createPodmanHost(o: { backend: 'tsnet' | 'netavark'; tag: string; stateDir?: string; aardvark?: boolean }): Promise<PodmanHost> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `podman-${o.backend}-`));
  const cgroupParent = `/tsnet-podman-${o.tag}-${o.backend}${o.aardvark === false ? '-nodns' : ''}`;
  const helpers = path.join(dir, 'helpers');
  for (const d of ['helpers', 'networks', 'tmp', 'root', 'runroot']) fs.mkdirSync(path.join(dir, d));
  let helper: string;
  if (o.backend === 'tsnet') {
    helper = placeHelper(helpers, 'netavark', o.stateDir ?? process.env.TSNET_STATE_DIR ?? '/var/lib/tsnet', { entry: await helperTarget() }).file;
  } else {
    helper = path.join(helpers, 'netavark');
    fs.symlinkSync(path.join(DEBIAN_HELPERS, 'netavark'), helper);
    // Without aardvark-dns podman passes --aardvark-binary= and netavark serves no names.
    if (o.aardvark !== false) fs.symlinkSync(path.join(DEBIAN_HELPERS, 'aardvark-dns'), path.join(helpers, 'aardvark-dns'));
  }
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, [
    '[containers]',
    // busybox needs no more; podman's root default (1048576) exceeds what this machine lets runc set.
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    '[network]',
    'network_backend = "netavark"',
    `network_config_dir = "${path.join(dir, 'networks')}"`,
    '[engine]',
    `helper_binaries_dir = ["${helpers}"]`,
    `tmp_dir = "${path.join(dir, 'tmp')}"`,
    'cgroup_manager = "cgroupfs"',
    'events_logger = "none"',
    'lock_type = "file"',
    '',
  ].join('\n'));
  // The minimal environment podman's cleanup process gets: no TSNET_STATE_DIR.
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, CONTAINERS_CONF: conf };
  const global = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs'];
  await holdRunDir();
  const podman = async (args: string[], opts: { allowFail?: boolean } = {}) => {
    const r = await exec('podman', [...global, ...args], { env });
    if (r.code && !opts.allowFail) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()} ${r.stdout.trim()}`);
    return r;
  };
  const image = `localhost/tsnet-busybox:${o.tag}`;
  const host: PodmanHost = {
    backend: o.backend, dir, image, helper, podman,
    run: (args, opts) => podman(['run', '--cgroup-parent', cgroupParent, ...args], opts),
    async close() {
      await podman(['rm', '-af', '-t', '0'], { allowFail: true });
      const nets = await podman(['network', 'ls', '--format', '{{.Name}}'], { allowFail: true });
      for (const n of nets.stdout.split('\n').filter((n) => n && n !== 'podman')) await podman(['network', 'rm', '-f', n], { allowFail: true });
      removeCgroup(cgroupParent);
      await releaseRunDir();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await podman(['import', '-q', await imageTar(dir), image]);
  } catch (err) {
    await host.close();
    throw err;
  }
  return host;
}
