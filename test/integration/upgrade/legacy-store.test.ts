/**
 * A state directory written by tsnet 0.1.0 (fixtures/store/v0.1: untyped driverState, no ownership
 * record) opens and works with today's code: networks show typed facts, sandboxes whose namespaces
 * are gone (it was written in a private host, as after a reboot) are dropped with their addresses and
 * ports, a lost bridge is restored with its rules on the first state-changing command, and new
 * sandboxes attach and talk.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Controller } from '../../../src/index';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';

const FIXTURE = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'store', 'v0.1', 'state.db');
const run = process.pid.toString(36);

describe('a store written by tsnet 0.1.0', function () {
  let stateDir: string;
  let c: Controller;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-legacy-'));
    fs.copyFileSync(FIXTURE, path.join(stateDir, 'state.db'));
    c = await Controller.open({ stateDir, config: {} });
  });
  after(async () => {
    for (const sb of await c.listSandboxes()) await c.deleteSandbox(sb.id).catch(() => undefined);
    for (const n of ['legacy', 'named']) await c.deleteNetwork(n).catch(() => undefined);
    await c.close();
    const h = NetlinkHandle.open();
    await h.deleteLink('brlegacy').catch(() => undefined);
    h.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('lists its networks with typed facts derived from the old records', async () => {
    const names = (await c.listNetworks()).map((n) => n.name);
    assert.deepEqual(names, ['bridge', 'host', 'legacy', 'named', 'none']);
    const legacy = await c.getNetwork('legacy');
    assert.equal(legacy.info.device, `br-${legacy.id.slice(0, 12)}`);
    assert.deepEqual(legacy.info.firewall, { masquerade: true, icc: true });
    const named = await c.getNetwork('named');
    assert.equal(named.info.device, 'brlegacy');
    assert.deepEqual(named.info.firewall, { masquerade: true, icc: false });
  });

  it('drops the sandboxes whose namespaces are gone (as after a reboot), freeing their addresses and ports', async () => {
    assert.deepEqual(await c.listSandboxes(), []);
    const inspect = await c.inspectNetwork('legacy');
    assert.equal(Object.keys(inspect.Containers as object).length, 0);
    // Port 8080 that web published is free again, and no DNAT for it was re-published.
    const p = await c.createSandbox({ name: `lp-${run}`, network: 'legacy', publish: ['8080:80'] });
    await c.deleteSandbox(p.id);
  });

  it('restores the lost bridges on open, and new sandboxes attach and talk on them', async () => {
    const h = NetlinkHandle.open();
    try {
      const legacy = await c.getNetwork('legacy');
      assert.ok((await h.getLink(legacy.info.device!))?.up, 'the bridge of "legacy" was restored');
      // Restored records are rewritten in today's shape.
      assert.equal((await c.getNetwork('legacy')).driverData.createdBridge, true);
    } finally {
      h.close();
    }
    const a = await c.createSandbox({ name: `la-${run}`, network: 'legacy' });
    const b = await c.createSandbox({ name: `lb-${run}`, network: 'legacy' });
    const ipA = (await c.sandboxEndpoints(a.id))[0].ipv4!.split('/')[0];
    assert.match(ipA, /^172\.29\.0\.\d+$/);
    // The old sandboxes' addresses (web .2, db .3) were freed with them.
    const s2 = await c.createSandbox({ name: `l2-${run}`, network: 'legacy', ip: '172.29.0.2' });
    const s3 = await c.createSandbox({ name: `l3-${run}`, network: 'legacy', ip: '172.29.0.3' });
    await c.deleteSandbox(s2.id);
    await c.deleteSandbox(s3.id);
    const srv = await startEchoServer(a.key, 8080);
    try {
      assert.equal(await tcpExchange(b.key, ipA, 8080, 'legacy'), 'echo:legacy');
    } finally {
      srv.stop();
    }
  });

  it('removes a network it made, bridge included', async () => {
    for (const sb of await c.listSandboxes()) await c.deleteSandbox(sb.id).catch(() => undefined);
    const legacy = await c.getNetwork('legacy');
    await c.deleteNetwork('legacy');
    const h = NetlinkHandle.open();
    try {
      assert.equal(await h.getLink(legacy.info.device!), undefined);
    } finally {
      h.close();
    }
  });
});
