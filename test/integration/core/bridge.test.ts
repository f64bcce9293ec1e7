/** The bridge driver on the real kernel: sandboxes talk over TCP, the host reaches them, multi-network sandboxes. */
import { strict as assert } from 'node:assert';
import { Controller } from '../../../src/index';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';

const run = process.pid.toString(36);

describe('bridge driver (real kernel, private host)', function () {
  let c: Controller;
  const sandboxes: string[] = [];
  const networks: string[] = [];

  before(async () => {
    c = await Controller.open({ config: {} });
  });
  afterEach(async () => {
    // Clean up whatever the test made, even when it failed midway.
    for (const s of sandboxes.splice(0)) await c.deleteSandbox(s).catch(() => undefined);
    for (const n of networks.splice(0)) await c.deleteNetwork(n).catch(() => undefined);
  });
  after(() => c.close());

  async function net(name: string, subnet: string, extra: object = {}) {
    networks.push(name);
    return c.createNetwork({ name, ipam: [{ subnet }], ...extra });
  }
  async function sandbox(name: string, network: string, extra: object = {}) {
    sandboxes.push(name);
    return c.createSandbox({ name, network, ...extra });
  }
  const ip = async (sb: string, i = 0) => (await c.sandboxEndpoints(sb))[i].ipv4!.split('/')[0];

  it('two sandboxes on one bridge exchange TCP by address, and the host reaches both', async () => {
    await net(`n1-${run}`, '172.25.0.0/16');
    const a = await sandbox(`a-${run}`, `n1-${run}`);
    const b = await sandbox(`b-${run}`, `n1-${run}`);
    assert.equal(await ip(a.name), '172.25.0.2');
    assert.equal(await ip(b.name), '172.25.0.3');
    const server = await startEchoServer(b.key, 8080);
    try {
      assert.equal(await tcpExchange(a.key, '172.25.0.3', 8080, 'from-a'), 'echo:from-a');
      assert.equal(await tcpExchange('', '172.25.0.3', 8080, 'from-host'), 'echo:from-host');
    } finally {
      server.stop();
    }
    const srvA = await startEchoServer(a.key, 9090);
    try {
      assert.equal(await tcpExchange('', '172.25.0.2', 9090, 'host-to-a'), 'echo:host-to-a');
    } finally {
      srvA.stop();
    }
  });

  it('sets the kernel state Docker would: bridge, gateway, veth master, 02:42 MAC, eth0, default route, MTU', async () => {
    const n = await net(`n2-${run}`, '172.26.0.0/24', { options: { 'com.docker.network.driver.mtu': '1400' } });
    const a = await sandbox(`m-${run}`, n.name);
    const host = NetlinkHandle.open();
    const inside = NetlinkHandle.open(a.key);
    try {
      const bridge = await host.mustGetLink(`br-${n.id.slice(0, 12)}`);
      assert.equal(bridge.kind, 'bridge');
      assert.deepEqual((await host.listAddrs(bridge.index)).filter((x) => x.family === 4).map((x) => x.cidr), ['172.26.0.1/24']);
      const [ep] = await c.sandboxEndpoints(a.name);
      const veth = await host.mustGetLink(ep.hostVeth!);
      assert.equal(veth.master, bridge.index);
      assert.match(ep.hostVeth!, /^veth[0-9a-f]{7}$/);
      const eth0 = await inside.mustGetLink('eth0');
      assert.equal(eth0.mac, '02:42:ac:1a:00:02');
      assert.equal(eth0.mtu, 1400);
      assert.ok(eth0.up);
      const routes = await inside.listRoutes(4);
      assert.ok(routes.some((r) => !r.dst && r.gateway === '172.26.0.1'), 'default route via gateway');
    } finally {
      host.close();
      inside.close();
    }
  });

  it('a sandbox on two networks has eth0 and eth1 and reaches peers on both', async () => {
    await net(`x-${run}`, '172.27.0.0/24');
    await net(`y-${run}`, '172.28.0.0/24');
    const multi = await sandbox(`multi-${run}`, `x-${run}`);
    await c.connect(`y-${run}`, multi.name);
    const px = await sandbox(`px-${run}`, `x-${run}`);
    const py = await sandbox(`py-${run}`, `y-${run}`);
    assert.deepEqual((await c.sandboxEndpoints(multi.name)).map((e) => e.ifname), ['eth0', 'eth1']);
    const sx = await startEchoServer(px.key, 7000);
    const sy = await startEchoServer(py.key, 7000);
    try {
      assert.equal(await tcpExchange(multi.key, await ip(px.name), 7000, 'x'), 'echo:x');
      assert.equal(await tcpExchange(multi.key, await ip(py.name), 7000, 'y'), 'echo:y');
    } finally {
      sx.stop();
      sy.stop();
    }
    // Leaving the first network moves the default route to the second one.
    await c.disconnect(`x-${run}`, multi.name);
    const inside = NetlinkHandle.open(multi.key);
    try {
      assert.deepEqual((await inside.listLinks()).map((l) => l.name).sort(), ['eth1', 'lo']);
      assert.ok((await inside.listRoutes(4)).some((r) => !r.dst && r.gateway === '172.28.0.1'));
    } finally {
      inside.close();
    }
  });

  it('gives each family one default route, through the first network that has its gateway, and hands it on at disconnect', async () => {
    const v4only = await net(`r4-${run}`, '172.16.80.0/24');
    const dual1 = await net(`rd1-${run}`, '172.16.81.0/24', { ipv6: true, ipam: [{ subnet: '172.16.81.0/24' }, { subnet: 'fd00:81::/64' }] });
    const dual2 = await net(`rd2-${run}`, '172.16.82.0/24', { ipv6: true, ipam: [{ subnet: '172.16.82.0/24' }, { subnet: 'fd00:82::/64' }] });
    const sb = await sandbox(`routes-${run}`, v4only.name);
    /** The sandbox's default routes of one family, as "gateway dev", read from its namespace. */
    const defaults = async (fam: 4 | 6) => {
      const inside = NetlinkHandle.open(sb.key);
      try {
        const names = new Map((await inside.listLinks()).map((l) => [l.index, l.name]));
        return (await inside.listRoutes(fam)).filter((r) => !r.dst).map((r) => `${r.gateway} ${names.get(r.oif!)}`);
      } finally {
        inside.close();
      }
    };
    assert.deepEqual([await defaults(4), await defaults(6)], [['172.16.80.1 eth0'], []]);
    // The first network with an IPv6 gateway gives the IPv6 default; IPv4 stays where it was.
    await c.connect(dual1.name, sb.name);
    assert.deepEqual([await defaults(4), await defaults(6)], [['172.16.80.1 eth0'], ['fd00:81::1 eth1']]);
    await c.connect(dual2.name, sb.name);
    assert.deepEqual([await defaults(4), await defaults(6)], [['172.16.80.1 eth0'], ['fd00:81::1 eth1']], 'a third network takes no default route');
    // Leaving the network that held the IPv6 default hands it to the remaining dual-stack one.
    await c.disconnect(dual1.name, sb.name);
    assert.deepEqual([await defaults(4), await defaults(6)], [['172.16.80.1 eth0'], ['fd00:82::1 eth2']]);
    // Leaving the one that held the IPv4 default hands that to the last network too.
    await c.disconnect(v4only.name, sb.name);
    assert.deepEqual([await defaults(4), await defaults(6)], [['172.16.82.1 eth2'], ['fd00:82::1 eth2']]);
    const [left] = await c.sandboxEndpoints(sb.name);
    assert.deepEqual([left.networkId, left.defaultRoute, left.defaultRoute6], [dual2.id, true, true], 'the record says who holds the routes, for the next hand-over');
  });

  it('supports static addresses, IPv6 and the host and none modes', async () => {
    await net(`v6-${run}`, '172.29.0.0/24', { ipv6: true, ipam: [{ subnet: '172.29.0.0/24' }, { subnet: 'fd00:29::/64' }] });
    const a = await sandbox(`s6-${run}`, `v6-${run}`, { ip: '172.29.0.50', ip6: 'fd00:29::50' });
    const b = await sandbox(`t6-${run}`, `v6-${run}`);
    assert.equal((await c.sandboxEndpoints(a.name))[0].ipv6, 'fd00:29::50/64');
    const srv = await startEchoServer(a.key, 6000, '::');
    try {
      assert.equal(await tcpExchange(b.key, 'fd00:29::50', 6000, 'v6'), 'echo:v6');
    } finally {
      srv.stop();
    }
    const none = await sandbox(`none-${run}`, 'none');
    const inside = NetlinkHandle.open(none.key);
    try {
      assert.deepEqual((await inside.listLinks()).map((l) => l.name), ['lo']);
    } finally {
      inside.close();
    }
    await assert.rejects(c.connect(`v6-${run}`, none.name), /private \(none\) mode/);
    const host = await sandbox(`host-${run}`, 'host');
    assert.equal(host.key, 'host');
    await assert.rejects(c.connect(`v6-${run}`, host.name), /host network/);
    const shared = await sandbox(`shared-${run}`, `container:${a.name}`);
    assert.equal(shared.key, a.key);
    await assert.rejects(c.connect(`v6-${run}`, shared.name), /conflicting options/);
    await assert.rejects(c.deleteSandbox(a.name), /shared by/);
    await c.deleteSandbox(shared.name);
  });

  it('attaches and detaches 50 sandboxes with no leaked link, address, namespace, allocation or record', async function () {
    this.timeout(120000);
    const before = await snapshot();
    const keysBefore = storeKeys();
    const n = await net(`fifty-${run}`, '172.30.0.0/24');
    const names = Array.from({ length: 50 }, (_, i) => `f${i}-${run}`);
    for (const name of names) await sandbox(name, n.name);
    const addrs = new Set(await Promise.all(names.map((s) => ip(s))));
    assert.equal(addrs.size, 50);
    const first = await c.getSandbox(names[0]);
    const srv = await startEchoServer(first.key, 5000);
    try {
      assert.equal(await tcpExchange((await c.getSandbox(names[49])).key, await ip(names[0]), 5000, 'last-to-first'), 'echo:last-to-first');
    } finally {
      srv.stop();
    }
    for (const name of names) await c.deleteSandbox(name);
    sandboxes.length = 0;
    await c.deleteNetwork(n.name);
    networks.length = 0;
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(storeKeys(), keysBefore);
  });
});
