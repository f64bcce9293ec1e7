/**
 * Debian's containerd 1.6 with its own client, `ctr run --cni` (go-cni, the library the CRI plugin
 * uses), on a tsnet-cni conflist: a busybox image built here and imported, two containers that
 * talk, the resolver answering inside, and removal by ctr itself (its CNI DEL when the task exits)
 * that leaves nothing. Every call ctr makes is recorded (a wrapper logs CNI_* and stdin, then runs
 * the real plugin) and compared with fixtures/runtimes/containerd-ctr-calls.json
 * (TSNET_RECORD_FIXTURES=1 rewrites it). ctr 1.6 has no `-p`: it never sends portMappings.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Controller } from '../../../src/index';
import { tsnet } from '../../helpers/cli';
import { CNI_BIN_DIR, CNI_CONF_DIR, Containerd } from '../../helpers/containerd';
import { snapshot, type KernelSnapshot } from '../../helpers/kernel-state';
import { buildBusyboxImage, PAGE } from '../../helpers/oci-image';

const RUN = process.pid.toString(36);
const NET = `ctr-${RUN}`;
const BRIDGE = `ctr${RUN}`.slice(0, 15);
const IMAGE = `docker.io/tsnet/busybox:${RUN}`;
const BUILD = path.join(__dirname, '..', '..', '..');
const FIXTURE = path.join(BUILD, '..', 'fixtures', 'runtimes', 'containerd-ctr-calls.json');

const CONFLIST = {
  cniVersion: '1.0.0',
  name: NET,
  plugins: [{
    type: 'tsnet-cni', bridge: BRIDGE, isGateway: true, ipMasq: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.143.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
    capabilities: { portMappings: true },
  }],
};

/** One recorded plugin call. */
interface Call {
  env: Record<string, string>;
  config: Record<string, unknown>;
}

/** The recorder: logs the call, then execs the real plugin with the same stdin and environment. */
function recorder(dir: string, real: string): string {
  return `#!/bin/sh\n# Records one CNI call (CNI_* variables and stdin), then runs the real plugin.\nn="${dir}/$(date +%s%N)-$$"\nenv | grep '^CNI_' | sort > "$n.env"\ncat > "$n.stdin"\nexec "${real}" < "$n.stdin"\n`;
}

/** The recorded calls, oldest first. */
function recordedCalls(dir: string): Call[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.env')).sort().map((f) => {
    const env = Object.fromEntries(fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    return { env, config: JSON.parse(fs.readFileSync(path.join(dir, f.replace(/\.env$/, '.stdin')), 'utf8')) };
  });
}

/** A call with what changes between runs replaced by placeholders. */
function normalise(call: Call, namespace: string): Call {
  const text = JSON.stringify(call)
    .replaceAll(namespace, '<namespace>').replaceAll(NET, '<network>').replaceAll(BRIDGE, '<bridge>')
    .replace(/\/proc\/\d+\/ns\/net/g, '/proc/<pid>/ns/net').replaceAll(CNI_BIN_DIR, '<cni-bin-dir>')
    // DEL carries the cached ADD result (prevResult): random MACs and host veth names.
    .replace(/"mac":"[0-9a-f:]{17}"/g, '"mac":"<mac>"').replace(/"veth[0-9a-f]+"/g, '"<host-veth>"');
  return JSON.parse(text);
}

/** Runs a command, resolving with stdout or 'error: …'. */
function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, { encoding: 'utf8', timeout: 20000 }, (err, out, errOut) => resolve(err ? `error: ${errOut || err.message}` : out)));
}

/** Resolves when child exits, with its exit code and output. */
function exited(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

/** The IPv4 address (no prefix) of the CNI container fullId, once its ADD has finished. */
async function addressOf(fullId: string): Promise<string | undefined> {
  const c = await Controller.open({ readOnly: true });
  try {
    const sb = (await c.listSandboxes()).find((s) => s.name === `cni-${fullId.slice(0, 12)}`);
    const ep = sb ? (await c.sandboxEndpoints(sb.id))[0] : undefined;
    return ep?.ipv4?.split('/')[0];
  } finally {
    await c.close();
  }
}

describe('containerd (ctr run --cni) on tsnet-cni', function () {
  this.timeout(300000);
  let containerd: Containerd | undefined;
  let tmp = '', records = '';
  let kernelBefore: KernelSnapshot;
  let server: ChildProcess | undefined;
  let serverExit: Promise<{ code: number | null; out: string }> | undefined;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ctr-test-'));
    records = path.join(tmp, 'calls');
    fs.mkdirSync(records);
    containerd = await Containerd.start(RUN);
    execFileSync(process.execPath, [path.join(BUILD, 'plugins', 'cni', 'main.js'), 'install', CNI_BIN_DIR, '--name', 'tsnet-cni-real']);
    fs.writeFileSync(path.join(CNI_BIN_DIR, 'tsnet-cni'), recorder(records, path.join(CNI_BIN_DIR, 'tsnet-cni-real')), { mode: 0o755 });
    fs.writeFileSync(path.join(CNI_CONF_DIR, '10-tsnet.conflist'), JSON.stringify(CONFLIST));
    const image = buildBusyboxImage(path.join(tmp, 'image'), IMAGE);
    const imported = await containerd.ctr(['image', 'import', '--snapshotter', 'native', image.ociArchive]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(tsnet('ls', '-q').status, 0);
    kernelBefore = await snapshot();
  });
  after(async () => {
    server?.kill('SIGKILL');
    await containerd?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs two containers on tsnet that talk, with the resolver answering inside', async () => {
    const c = containerd!;
    server = c.spawnRun(['--cni', '--rm', ...c.runOptions('srv'), IMAGE, 'srv', 'httpd', '-f', '-p', '80', '-h', '/www']);
    serverExit = exited(server);
    const srvId = `${c.namespace}-srv`;
    let ip: string | undefined;
    for (let i = 0; i < 100 && !ip; i++) {
      ip = await addressOf(srvId);
      if (!ip) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ip, `srv got an address: ${(await c.ctr(['task', 'ls'])).stdout}`);
    assert.match(ip!, /^10\.143\.0\.\d+$/);
    // The address comes with the CNI ADD, before httpd listens: wait for it from the host first.
    for (let i = 0; i < 50; i++) {
      if ((await sh('timeout', ['2', 'busybox', 'wget', '-qO-', `http://${ip}/`])) === PAGE) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // busybox-static's wget crashes with -T: timeout(1) bounds it instead.
    const cli = c.spawnRun(['--cni', '--rm', ...c.runOptions('cli'), IMAGE, 'cli', 'sh', '-c', `timeout 5 wget -qO- http://${ip}/; nslookup cni-${srvId.slice(0, 12)} 127.0.0.11`]);
    const r = await exited(cli);
    assert.equal(r.code, 0, r.out);
    assert.ok(r.out.startsWith(PAGE), r.out);
    assert.match(r.out, new RegExp(`Address: ${ip!.replaceAll('.', '\\.')}`));
    assert.equal(await sh('timeout', ['5', 'busybox', 'wget', '-qO-', `http://${ip}/`]), PAGE);
  });

  it('removes everything when ctr ends the task: sandbox, network, devices, containers, cgroups', async () => {
    const c = containerd!;
    assert.equal((await c.ctr(['task', 'kill', '-s', 'SIGKILL', 'srv'])).code, 0);
    const r = await serverExit!;
    server = undefined;
    assert.ok(r.code !== null, r.out);
    assert.equal(tsnet('sandbox', 'ls', '-q').stdout.trim(), '');
    assert.doesNotMatch(tsnet('ls').stdout, new RegExp(`\\b${NET}\\b`));
    assert.deepEqual(await snapshot(), kernelBefore);
    assert.equal((await c.ctr(['container', 'ls', '-q'])).stdout.trim(), '');
    await c.removeCgroups();
    assert.deepEqual(c.cgroupsLeft(), []);
  });

  it('made the calls recorded in fixtures/runtimes/containerd-ctr-calls.json', () => {
    const calls = recordedCalls(records).map((call) => normalise(call, containerd!.namespace));
    if (process.env.TSNET_RECORD_FIXTURES === '1') fs.writeFileSync(FIXTURE, JSON.stringify(calls, null, 2) + '\n');
    assert.deepEqual(calls, JSON.parse(fs.readFileSync(FIXTURE, 'utf8')));
  });
});
