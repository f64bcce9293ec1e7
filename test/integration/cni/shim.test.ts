/**
 * The installed exec shim with a real daemon: every command served in the daemon (through a shim
 * whose node fallback fails loudly, so a silent fallback cannot pass), 50 parallel ADDs, the same
 * answer as the node plugin, and the node path when no daemon runs — starting one or not.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundle } from '../../../plugins/cni/bundle';
import { PLUGIN_NAME, placePlugin } from '../../../plugins/cni/install';
import { compileShim, defaultShimConfig } from '../../../plugins/cni/shim';
import { defaultStateDir } from '../../../src/index';
import { cniSocket, daemonPid, ensureDaemon, stopDaemon, waitForCniSocket } from './daemon';
import { ipIn, RUN, Scratch } from './harness';
import { execFile, type PluginRun, REFERENCE_BIN_DIR } from './runtime';

const NET = `cni-shim-${RUN}`;
const BRIDGE = `csh${RUN}`.slice(0, 15);
const conf = (over: object = {}) => ({ cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', bridge: BRIDGE, ipMasq: true, ipam: { subnet: '10.136.0.0/24', routes: [{ dst: '0.0.0.0/0' }] }, ...over });
/** What the daemon-only shim's "node plugin" prints: any command that reaches it fails the test. */
const NO_FALLBACK = `process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: 'the shim fell back to node' }) + '\\n'); process.exit(1);\n`;

describe('tsnet-cni exec shim with the daemon', function () {
  this.timeout(120000);
  const s = new Scratch();
  let bin = '';
  /** Bin dirs holding: the daemon-only shim; the shipped shim without daemon start; with it; the node plugin. */
  const dirs = { daemonOnly: '', noStart: '', starting: '', node: '' };

  before(async function () {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cni-shim-'));
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) fs.mkdirSync((dirs[k] = path.join(bin, k)));
    fs.writeFileSync(path.join(bin, 'no-fallback.js'), NO_FALLBACK);
    if (compileShim(path.join(dirs.daemonOnly, PLUGIN_NAME), defaultShimConfig({ plugin: path.join(bin, 'no-fallback.js'), startDaemon: false })) === 'no-compiler') this.skip();
    const target = await bundle();
    assert.equal(placePlugin(dirs.noStart, PLUGIN_NAME, target, { startDaemon: false }).kind, 'shim');
    assert.equal(placePlugin(dirs.starting, PLUGIN_NAME, target).kind, 'shim');
    assert.equal(placePlugin(dirs.node, PLUGIN_NAME, target, { shim: false }).kind, 'node');
    await ensureDaemon();
  });
  beforeEach(() => s.network(NET));
  afterEach(() => s.cleanup());
  after(async () => {
    // Later suites expect the daemon when they run through the shim; the private host stops it at the end.
    await ensureDaemon();
    fs.rmSync(bin, { recursive: true, force: true });
  });

  /** Execs the tsnet-cni of one bin dir as a runtime does. */
  function via(dir: string, command: string, config: object, att: { containerId?: string; netns?: string; ifname?: string } = {}, extra: Record<string, string | undefined> = {}): Promise<PluginRun> {
    const binDirs = [dir, REFERENCE_BIN_DIR];
    return execFile(path.join(dir, PLUGIN_NAME), { command, containerId: att.containerId, netns: att.netns, ifname: att.ifname ?? 'eth0', extra }, config, binDirs);
  }

  it('serves VERSION, ADD, CHECK, STATUS, GC and DEL in the daemon', async () => {
    const ns = s.netns(`csh-${RUN}`), id = `sh-${RUN}`;
    const version = await via(dirs.daemonOnly, 'VERSION', { cniVersion: '1.1.0' });
    assert.equal(version.code, 0, version.stdout);
    assert.ok((version.json as any).supportedVersions.includes('0.3.1'));
    const add = await via(dirs.daemonOnly, 'ADD', conf(), { containerId: id, netns: ns });
    assert.equal(add.code, 0, add.stdout);
    assert.deepEqual((add.json as any).ips, [{ address: '10.136.0.2/24', gateway: '10.136.0.1', interface: 2 }]);
    assert.match(ipIn(`csh-${RUN}`, '-br', 'addr', 'show', 'eth0'), /10\.136\.0\.2\/24/);
    const check = await via(dirs.daemonOnly, 'CHECK', conf({ prevResult: add.json }), { containerId: id, netns: ns });
    assert.equal(check.code, 0, check.stdout);
    assert.equal((await via(dirs.daemonOnly, 'STATUS', conf())).code, 0);
    const gc = await via(dirs.daemonOnly, 'GC', conf({ 'cni.dev/valid-attachments': [{ containerID: id, ifname: 'eth0' }] }));
    assert.equal(gc.code, 0, gc.stdout);
    assert.equal((await via(dirs.daemonOnly, 'CHECK', conf({ prevResult: add.json }), { containerId: id, netns: ns })).code, 0, 'GC kept the listed attachment');
    const del = await via(dirs.daemonOnly, 'DEL', conf(), { containerId: id, netns: ns });
    assert.equal(del.code, 0, del.stdout);
    assert.doesNotMatch(ipIn(`csh-${RUN}`, '-br', 'link'), /eth0/);
    assert.equal((await via(dirs.daemonOnly, 'DEL', conf(), { containerId: id, netns: ns })).code, 0, 'DEL is idempotent');
  });

  it('answers failures as the node plugin does: same JSON, same exit code', async () => {
    const ns = s.netns(`cshe-${RUN}`);
    const cases: [string, object | string, Record<string, string | undefined>][] = [
      ['not JSON', '{', {}],
      ['an unsupported field', conf({ vlan: 5 }), {}],
      ['a missing namespace', conf(), { CNI_NETNS: '/run/netns/absent' }],
      ['a bad CNI_ARGS pair', conf(), { CNI_ARGS: 'novalue' }],
      ['an incompatible version', conf({ cniVersion: '9.9.9' }), {}],
    ];
    for (const [what, config, extra] of cases) {
      const runs = await Promise.all([dirs.daemonOnly, dirs.node].map((d) => via(d, 'ADD', config as object, { containerId: `she-${RUN}`, netns: ns }, extra)));
      assert.deepEqual(runs.map((r) => [r.code, r.stdout]), [[runs[1].code, runs[1].stdout], [1, runs[1].stdout]], what);
    }
  });

  it('50 parallel ADDs in the daemon: 50 distinct addresses; 50 parallel DELs', async () => {
    const atts = Array.from({ length: 50 }, (_, i) => ({ containerId: `shp${i}-${RUN}`, netns: s.netns(`cshp${i}-${RUN}`) }));
    const added = await Promise.all(atts.map((a) => via(dirs.daemonOnly, 'ADD', conf(), a)));
    assert.deepEqual(added.filter((r) => r.code !== 0).map((r) => r.stdout), []);
    const ips = added.map((r) => (r.json as any).ips[0].address as string);
    assert.equal(new Set(ips).size, 50);
    assert.ok(ips.every((ip) => ip.startsWith('10.136.0.')));
    const deleted = await Promise.all(atts.map((a) => via(dirs.daemonOnly, 'DEL', conf(), a)));
    assert.deepEqual(deleted.filter((r) => r.code !== 0).map((r) => r.stdout), []);
  });

  it('names resolve as soon as a "dns": true ADD returns from the daemon', async () => {
    const a = s.netns(`cshd1-${RUN}`), b = s.netns(`cshd2-${RUN}`);
    const dnsConf = conf({ dns: true });
    assert.equal((await via(dirs.daemonOnly, 'ADD', dnsConf, { containerId: `shd1-${RUN}`, netns: a })).code, 0);
    assert.equal((await via(dirs.daemonOnly, 'ADD', dnsConf, { containerId: `shd2-${RUN}`, netns: b })).code, 0);
    const dig = execFileSync('ip', ['netns', 'exec', `cshd1-${RUN}`, 'dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', `cni-shd2-${RUN}`.slice(0, 16), 'A'], { encoding: 'utf8' });
    assert.equal(dig.trim(), '10.136.0.3');
  });

  describe('without a daemon', () => {
    before(() => stopDaemon());

    it('runs every command through node, and starts no daemon when built not to', async () => {
      const ns = s.netns(`cshn-${RUN}`), id = `shn-${RUN}`;
      // Without the embedded resolver: a config that wants it starts the daemon for it (as netavark starts aardvark-dns).
      const quiet = (over: object = {}) => conf({ embeddedDNS: false, ...over });
      const add = await via(dirs.noStart, 'ADD', quiet(), { containerId: id, netns: ns });
      assert.equal(add.code, 0, add.stdout);
      assert.equal((await via(dirs.noStart, 'CHECK', quiet({ prevResult: add.json }), { containerId: id, netns: ns })).code, 0);
      assert.equal((await via(dirs.noStart, 'DEL', quiet(), { containerId: id, netns: ns })).code, 0);
      assert.equal(daemonPid(), undefined);
      assert.equal(fs.existsSync(cniSocket()), false);
    });

    it('starts the daemon from the first command (served by node), so later ones run in it', async () => {
      const atts = Array.from({ length: 5 }, (_, i) => ({ containerId: `shs${i}-${RUN}`, netns: s.netns(`cshs${i}-${RUN}`) }));
      const logFile = path.join(defaultStateDir(), 'daemon.log');
      const logBefore = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
      const added = await Promise.all(atts.map((a) => via(dirs.starting, 'ADD', conf(), a)));
      assert.deepEqual(added.filter((r) => r.code !== 0).map((r) => r.stdout), []);
      assert.ok(await waitForCniSocket(), 'the daemon came up');
      const log = fs.readFileSync(logFile).subarray(logBefore).toString('utf8');
      assert.doesNotMatch(log, /already runs/, 'one daemon was started, not one per shim');
      // Served in the daemon from now on: DEL through the shim whose fallback fails.
      const deleted = await Promise.all(atts.map((a) => via(dirs.daemonOnly, 'DEL', conf(), a)));
      assert.deepEqual(deleted.filter((r) => r.code !== 0).map((r) => r.stdout), []);
    });
  });
});
