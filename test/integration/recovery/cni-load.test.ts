/**
 * A runtime starting and stopping hundreds of containers at once, through the daemon: 500 parallel
 * CNI ADDs then 500 parallel DELs (the installed exec shim, whose Node fallback fails loudly, so
 * every call is served in the daemon), 10 rounds, on a network with name resolution. Throughout, a
 * querier in another container asks the embedded resolver for a third container's name every 10 ms.
 * Shown: no daemon process restarts (supervisor, services, resolver keep their pids), every round
 * hands out N distinct addresses and takes them all back, the resolver's longest silence stays
 * under 1 s with no wrong answer, and nothing is left afterwards. TSNET_LOAD_N and
 * TSNET_LOAD_ROUNDS scale it down for a quick run.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PLUGIN_NAME } from '../../../plugins/cni/install';
import { compileShim, defaultShimConfig } from '../../../plugins/cni/shim';
import { Controller, defaultStateDir } from '../../../src/index';
import { daemonPid, ensureDaemon } from '../cni/daemon';
import { RUN, Scratch } from '../cni/harness';
import { execFile, type PluginRun, REFERENCE_BIN_DIR } from '../cni/runtime';
import { storeKeys } from '../../helpers/store-state';

const N = Number(process.env.TSNET_LOAD_N ?? 500);
const ROUNDS = Number(process.env.TSNET_LOAD_ROUNDS ?? 10);
const NET = `cni-load-${RUN}`;
const conf = { cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', bridge: `cld${RUN}`.slice(0, 15), dns: true, ipam: { subnet: '10.137.0.0/22' } };
/** The outputs of the failed runs, shortened, for an assertion message. */
const failures = (runs: PluginRun[]) => runs.filter((r) => r.code !== 0).slice(0, 3).map((r) => (r.stdout + r.stderr).slice(0, 400));
const NO_FALLBACK = `process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: 'the shim fell back to node' }) + '\\n'); process.exit(1);\n`;

/**
 * Asks 127.0.0.11 for name (type A) every 10 ms from inside the namespace; on SIGTERM prints
 * { sent, answered, wrong, maxGapMs }: wrong counts answers other than want, maxGapMs is the longest
 * time without a right answer (from the first one to the end).
 */
const QUERIER = `
const dgram = require('dgram'); const [name, want] = process.argv.slice(1);
const s = dgram.createSocket('udp4'); let id = 0, sent = 0, answered = 0, wrong = 0, last = 0, maxGap = 0;
function q() {
  id = (id + 1) & 0xffff;
  const labels = Buffer.concat(name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])));
  const m = Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), labels, Buffer.from([0, 0, 1, 0, 1])]);
  s.send(m, 53, '127.0.0.11'); sent++;
}
s.on('message', (m) => {
  const an = m.readUInt16BE(6); const ip = an ? [...m.subarray(m.length - 4)].join('.') : '';
  if (ip !== want) { wrong++; return; }
  const now = Date.now(); if (last) maxGap = Math.max(maxGap, now - last); else process.stdout.write('ready\\n'); last = now; answered++;
});
setInterval(q, 10);
process.on('SIGTERM', () => { maxGap = Math.max(maxGap, Date.now() - last); process.stdout.write(JSON.stringify({ sent, answered, wrong, maxGapMs: maxGap }) + '\\n'); process.exit(0); });
`;

/** The pid of the daemon's child running role (pgrep on its command line), or undefined. */
function rolePid(role: string): number | undefined {
  const r = spawnSync('pgrep', ['-f', '--', `--state-dir ${defaultStateDir()} daemon --role ${role}`], { encoding: 'utf8' });
  const pids = r.stdout.trim().split('\n').filter(Boolean).map(Number);
  return pids.length === 1 ? pids[0] : undefined;
}

describe(`${N} parallel CNI ADDs and DELs through the daemon, ${ROUNDS} rounds, with a querier`, function () {
  this.timeout(60000 + ROUNDS * N * 200);
  const s = new Scratch();
  let bin = '';
  let querier: ChildProcess | undefined;

  const via = (command: string, att: { containerId: string; netns: string }): Promise<PluginRun> =>
    execFile(path.join(bin, PLUGIN_NAME), { command, containerId: att.containerId, netns: att.netns, ifname: 'eth0' }, conf, [bin, REFERENCE_BIN_DIR]);

  before(async function () {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cni-load-'));
    fs.writeFileSync(path.join(bin, 'no-fallback.js'), NO_FALLBACK);
    if (compileShim(path.join(bin, PLUGIN_NAME), defaultShimConfig({ plugin: path.join(bin, 'no-fallback.js'), startDaemon: false })) === 'no-compiler') {
      console.log('      skipped: no C compiler for the CNI exec shim (Debian: gcc, libc6-dev)');
      return this.skip();
    }
    s.network(NET);
    await ensureDaemon();
  });
  after(async () => {
    querier?.kill('SIGKILL');
    await s.cleanup();
    fs.rmSync(bin, { recursive: true, force: true });
  });

  it('no restart, no lost or doubled address, the resolver never silent for 1 s, nothing left', async () => {
    const q = { containerId: `ldq-${RUN}`, netns: s.netns(`cldq-${RUN}`) }, t = { containerId: `ldt-${RUN}`, netns: s.netns(`cldt-${RUN}`) };
    assert.equal((await via('ADD', q)).code, 0);
    const tAdd = await via('ADD', t);
    assert.equal(tAdd.code, 0, tAdd.stdout);
    const target = ((tAdd.json as { ips: { address: string }[] }).ips[0].address).split('/')[0];
    const targetName = `cni-${t.containerId}`.slice(0, 16);
    querier = spawn('nsenter', [`--net=${q.netns}`, '--', process.execPath, '-e', QUERIER, targetName, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    let report = '';
    querier.stdout!.on('data', (d) => (report += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the querier got no answer for ${targetName} within 5 s`)), 5000);
      querier!.stdout!.once('data', () => { clearTimeout(timer); resolve(); });
    });

    const pids = { supervisor: daemonPid(), services: rolePid('services'), resolver: rolePid('resolver') };
    assert.ok(pids.supervisor && pids.services && pids.resolver, JSON.stringify(pids));
    // Namespaces made once (loopback up, as runtimes do), with one ip(8) batch, reused by every round.
    const atts = Array.from({ length: N }, (_, i) => ({ containerId: `ld${i}-${RUN}`, netns: `/run/netns/cld${i}-${RUN}` }));
    execFileSync('ip', ['-batch', '-'], { input: atts.map((a) => `netns add ${path.basename(a.netns)}\nnetns exec ${path.basename(a.netns)} ip link set lo up\n`).join('') });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const added = await Promise.all(atts.map((a) => via('ADD', a)));
        assert.deepEqual(failures(added), [], `round ${round}: every ADD succeeds`);
        const ips = added.map((r) => (r.json as { ips: { address: string }[] }).ips[0].address.split('/')[0]);
        assert.equal(new Set([...ips, target]).size, N + 1, `round ${round}: ${N} distinct addresses, none the target's`);
        const deleted = await Promise.all(atts.map((a) => via('DEL', a)));
        assert.deepEqual(failures(deleted), [], `round ${round}: every DEL succeeds`);
        assert.deepEqual({ supervisor: daemonPid(), services: rolePid('services'), resolver: rolePid('resolver') }, pids, `round ${round}: no daemon process restarted`);
      }
    } finally {
      execFileSync('ip', ['-batch', '-', '-force'], { input: atts.map((a) => `netns del ${path.basename(a.netns)}\n`).join('') });
    }

    querier.kill('SIGTERM');
    await new Promise((r) => querier!.once('exit', r));
    const stats = JSON.parse(report.split('\n').filter((l) => l.startsWith('{'))[0]) as { sent: number; answered: number; wrong: number; maxGapMs: number };
    console.log(`      querier: ${JSON.stringify(stats)}`);
    assert.equal(stats.wrong, 0, 'no wrong answer');
    assert.ok(stats.maxGapMs < 1000, `the resolver was silent for ${stats.maxGapMs} ms`);

    // Only the querier and the target are left: their two addresses, two sandboxes, two host veths.
    const c = await Controller.open({ readOnly: true });
    try {
      const sandboxes = (await c.listSandboxes()).filter((x) => x.name.startsWith('cni-ld'));
      assert.deepEqual(sandboxes.map((x) => x.name).sort(), [`cni-${q.containerId}`.slice(0, 16), targetName].sort());
    } finally {
      await c.close();
    }
    const reserved = storeKeys().filter((k) => k.startsWith('ipam/addr/') && k.includes('-10.137.0.0_22/')).map((k) => k.split('/').pop());
    assert.deepEqual(reserved.sort(), ['10.137.0.1', '10.137.0.2', '10.137.0.3'], 'the gateway and the two containers\' addresses are all that is reserved');
    const hostVeths = execFileSync('ip', ['-o', 'link', 'show', 'master', conf.bridge], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    assert.equal(hostVeths.length, 2, hostVeths.join('\n'));
  });
});
