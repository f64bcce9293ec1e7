/**
 * The real podman (Debian's 4.3) confined to the test's private host: its storage, run root, temp
 * and lock files, events log and network configs in one temp directory; the CNI cache (libcni's
 * fixed /var/lib/cni) on a tmpfs mounted in the private host's own mount namespace; containers in
 * cgroups (cgroupfs) under a parent of the test's own that cleanup removes. Parametrised by network
 * backend: 'cni' (plugins from cniPluginDirs, e.g. tsnet-cni) or 'netavark' (helper binaries from
 * helperBinariesDir, e.g. tsnet-netavark installed as `netavark`).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
}

/** One podman command's outcome. */
export interface PodmanRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** libcni's cache directory: results and ports of every attachment (not configurable through podman). */
const CNI_CACHE_DIR = '/var/lib/cni';
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

  private constructor(readonly opts: PodmanOptions) {
    if (process.env.TSNET_PRIVATE_HOST !== '1') throw new Error('podman helper: run inside the private host (test/helpers/private-host.ts)');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-podman-${opts.tag}-`));
    this.networkConfigDir = path.join(this.dir, 'networks');
    this.cgroupParent = `/tsnet-podman-${opts.tag}`;
    for (const d of ['root', 'runroot', 'tmp', 'networks', 'imgtmp']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
    const conf = path.join(this.dir, 'containers.conf'), storage = path.join(this.dir, 'storage.conf');
    fs.writeFileSync(conf, this.containersConf());
    fs.writeFileSync(storage, `[storage]\ndriver = "vfs"\nrunroot = "${this.dir}/runroot"\ngraphroot = "${this.dir}/root"\n`);
    this.env = { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage, TMPDIR: path.join(this.dir, 'imgtmp') };
  }

  /** Sets podman up (and, for cni, a private CNI cache). */
  static async start(opts: PodmanOptions): Promise<Podman> {
    const p = new Podman(opts);
    if (opts.backend === 'cni') {
      fs.mkdirSync(CNI_CACHE_DIR, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', CNI_CACHE_DIR]);
      p.mountedCache = true;
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

  /** Removes the cgroup parent in every hierarchy, deepest first, waiting for exiting processes (conmon) to leave. */
  async removeCgroups(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const dirs = this.cgroupDirs();
      if (!dirs.length) return;
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
