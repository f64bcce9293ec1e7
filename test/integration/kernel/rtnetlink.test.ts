/**
 * The rtnetlink client on the real kernel (inside the private host): every link kind this kernel
 * has, created, inspected (also through iproute2) and deleted, with traffic where it is cheap.
 * Each test works in namespaces of its own, removed afterwards even when it fails.
 */
import { strict as assert } from 'node:assert';
import { ConflictError, InternalError, InvalidArgumentError, NotFoundError } from '../../../src/errors';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import { ipLink, kernelHas, TestNamespaces, type TestNs } from '../../helpers/netns';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';

const run = process.pid.toString(36);

/** it() that skips with one line naming the missing CONFIG_ option when the kernel lacks it. */
function itWith(option: string, title: string, fn: () => Promise<void>): void {
  const has = kernelHas(option);
  if (has === false) it(`${title} (skipped: kernel has no ${option})`, function () { this.skip(); });
  else it(title, fn);
}

/** Addresses and brings up a link, by name, in a namespace. */
async function addressed(ns: TestNs, name: string, cidr: string): Promise<number> {
  const l = await ns.h.mustGetLink(name);
  await ns.h.addAddr(l.index, cidr);
  await ns.h.setUp(l.index);
  return l.index;
}

/** Whether TCP from one namespace reaches an echo server in another. */
async function reaches(from: TestNs, to: TestNs, ip: string, port: number): Promise<boolean> {
  const srv = await startEchoServer(to.path, port);
  try {
    return (await tcpExchange(from.path, ip, port, 'x')) === 'echo:x';
  } finally {
    srv.stop();
  }
}

describe('rtnetlink links (real kernel, private host)', function () {
  const spaces = new TestNamespaces(`rtl-${run}`);
  afterEach(() => spaces.cleanup());

  it('veth: peer created in another namespace, both ends inspected, traffic, delete removes both', async () => {
    const [a, b] = [await spaces.create('a'), await spaces.create('b')];
    const host = await a.h.createVeth('va0', 'vb0', { mtu: 1400, peerNetnsFd: b.fd, peerMac: '02:00:00:00:aa:01' });
    assert.equal(host.kind, 'veth');
    assert.equal(host.mtu, 1400);
    const peer = await b.h.mustGetLink('vb0');
    assert.deepEqual([peer.kind, peer.mtu, peer.mac, peer.parent], ['veth', 1400, '02:00:00:00:aa:01', host.index]);
    assert.equal(await a.h.getLink('vb0'), undefined);
    await addressed(a, 'va0', '10.50.0.1/24');
    await addressed(b, 'vb0', '10.50.0.2/24');
    assert.ok(await reaches(a, b, '10.50.0.2', 7101));
    assert.equal(await a.h.deleteLink('va0'), true);
    assert.equal(await b.h.getLink('vb0'), undefined);
    assert.equal(await a.h.deleteLink('va0'), false);
  });

  it('bridge: ports enslaved and released, port flags as iproute2 reads them, traffic between two ports', async () => {
    const [a, b, c] = [await spaces.create('a'), await spaces.create('b'), await spaces.create('c')];
    const br = await a.h.createBridge('br0', { mac: '02:00:00:00:bb:01' });
    assert.deepEqual([br.kind, br.mac, br.up], ['bridge', '02:00:00:00:bb:01', false]);
    await a.h.setUp(br.index);
    for (const [ns, port] of [[b, 'pb'], [c, 'pc']] as const) {
      const p = await a.h.createVeth(port, 'eth0', { peerNetnsFd: ns.fd });
      await a.h.setMaster(p.index, br.index);
      await a.h.setUp(p.index);
      assert.equal((await a.h.mustGetLink(port)).master, br.index);
    }
    await addressed(b, 'eth0', '10.51.0.2/24');
    await addressed(c, 'eth0', '10.51.0.3/24');
    assert.ok(await reaches(b, c, '10.51.0.3', 7102));
    const pb = await a.h.mustGetLink('pb');
    await a.h.setHairpin(pb.index, true);
    await a.h.setBridgePort(pb.index, { learning: false, neighSuppress: true });
    const info = ipLink(a.path, 'pb').linkinfo.info_slave_data;
    assert.deepEqual([info.hairpin, info.learning, info.neigh_suppress], [true, false, true]);
    await a.h.setBridgePort(pb.index, { hairpin: false, learning: true });
    assert.deepEqual([ipLink(a.path, 'pb').linkinfo.info_slave_data.hairpin, ipLink(a.path, 'pb').linkinfo.info_slave_data.learning], [false, true]);
    await a.h.setNoMaster(pb.index);
    assert.equal((await a.h.mustGetLink('pb')).master, undefined);
    assert.equal(await a.h.deleteLink(br.index), true);
  });

  it('macvlan in every mode: kind, parent and mode as iproute2 reads them; bridge-mode siblings talk', async () => {
    const [a, b, c] = [await spaces.create('a'), await spaces.create('b'), await spaces.create('c')];
    // The parent needs a carrier: a veth pair with both ends up.
    const up0 = await a.h.createVeth('up0', 'up1');
    await a.h.setUp(up0.index);
    await a.h.setUp((await a.h.mustGetLink('up1')).index);
    for (const mode of ['private', 'vepa', 'bridge', 'passthru'] as const) {
      const mv = await a.h.createMacvlan(`mv-${mode}`, up0.index, { mode, mtu: 1400 });
      assert.deepEqual([mv?.kind, mv?.parent, mv?.mtu], ['macvlan', up0.index, 1400]);
      assert.equal(ipLink(a.path, `mv-${mode}`).linkinfo.info_data.mode, mode);
      assert.equal(await a.h.deleteLink(`mv-${mode}`), true);
    }
    // Made straight inside the sandboxes: nothing is returned, the sandbox's handle sees it.
    for (const [ns, mac, ip] of [[b, '02:00:00:00:cc:02', '10.52.0.2/24'], [c, '02:00:00:00:cc:03', '10.52.0.3/24']] as const) {
      assert.equal(await a.h.createMacvlan('eth0', up0.index, { mode: 'bridge', mac, netnsFd: ns.fd }), undefined);
      assert.equal((await ns.h.mustGetLink('eth0')).mac, mac);
      await addressed(ns, 'eth0', ip);
    }
    assert.ok(await reaches(b, c, '10.52.0.3', 7103));
  });

  it('vxlan: every option as iproute2 reads it, and traffic through the tunnel over FDB entries', async () => {
    const [a, b] = [await spaces.create('a'), await spaces.create('b')];
    await a.h.createVeth('ul0', 'ul0', { peerNetnsFd: b.fd });
    const ulA = await addressed(a, 'ul0', '192.168.77.1/24');
    const ulB = await addressed(b, 'ul0', '192.168.77.2/24');
    const vx = await a.h.createVxlan('vx0', { vni: 4242, local: '192.168.77.1', port: 4790, learning: false, link: ulA, ttl: 16, mtu: 1400 });
    assert.deepEqual([vx.kind, vx.mtu], ['vxlan', 1400]);
    const d = ipLink(a.path, 'vx0').linkinfo.info_data;
    assert.deepEqual([d.id, d.local, d.port, d.ttl, d.learning, d.link], [4242, '192.168.77.1', 4790, 16, false, 'ul0']);
    await b.h.createVxlan('vx0', { vni: 4242, local: '192.168.77.2', port: 4790, link: ulB, mtu: 1400 });
    await a.h.addFdb(vx.index, '00:00:00:00:00:00', '192.168.77.2');
    await b.h.addFdb((await b.h.mustGetLink('vx0')).index, '00:00:00:00:00:00', '192.168.77.1');
    await addressed(a, 'vx0', '10.53.0.1/24');
    await addressed(b, 'vx0', '10.53.0.2/24');
    assert.ok(await reaches(a, b, '10.53.0.2', 7104));
    assert.deepEqual((await a.h.listFdb(vx.index)).filter((f) => f.dst), [{ index: vx.index, mac: '00:00:00:00:00:00', dst: '192.168.77.2', permanent: true }]);
  });

  it('setlink: mtu, mac, down, rename, and a move into another namespace under a new name', async () => {
    const [a, b] = [await spaces.create('a'), await spaces.create('b')];
    const v = await a.h.createVeth('sa0', 'sa1');
    await a.h.setMtu(v.index, 1280);
    await a.h.setMac(v.index, '02:00:00:00:dd:01');
    await a.h.setUp(v.index);
    await a.h.setDown(v.index);
    await a.h.rename(v.index, 'renamed0');
    assert.deepEqual(await a.h.getLink(v.index), { ...v, name: 'renamed0', mtu: 1280, mac: '02:00:00:00:dd:01', up: false });
    await a.h.setNetns(v.index, b.fd, 'eth7');
    assert.equal(await a.h.getLink('renamed0'), undefined);
    assert.equal((await b.h.mustGetLink('eth7')).mac, '02:00:00:00:dd:01');
  });

  itWith('CONFIG_IPVLAN', 'ipvlan l2, l3 and l3s: created, inspected, moved into a sandbox', async () => {
    const [a, b] = [await spaces.create('a'), await spaces.create('b')];
    const parent = await a.h.createVeth('ip0', 'ip1');
    for (const mode of ['l2', 'l3', 'l3s'] as const) {
      const l = await a.h.createIpvlan(`ipv-${mode}`, parent.index, { mode, flag: 'private', mtu: 1400 });
      assert.deepEqual([l?.kind, l?.parent], ['ipvlan', parent.index]);
      assert.equal(ipLink(a.path, `ipv-${mode}`).linkinfo.info_data.mode, mode);
      assert.equal(await a.h.deleteLink(`ipv-${mode}`), true);
    }
    assert.equal(await a.h.createIpvlan('eth0', parent.index, { mode: 'l2', netnsFd: b.fd }), undefined);
    assert.equal((await b.h.mustGetLink('eth0')).kind, 'ipvlan');
  });

  itWith('CONFIG_VLAN_8021Q', '802.1Q vlan: id and parent decoded from the kernel reply', async () => {
    const a = await spaces.create('a');
    const parent = await a.h.createVeth('vp0', 'vp1');
    const vlan = await a.h.createVlan('vp0.42', parent.index, 42, { mtu: 1400 });
    assert.deepEqual([vlan.kind, vlan.vlanId, vlan.parent, vlan.mtu], ['vlan', 42, parent.index, 1400]);
    assert.ok((await a.h.listLinks()).some((l) => l.name === 'vp0.42' && l.vlanId === 42));
  });

  itWith('CONFIG_DUMMY', 'dummy: created, changed, deleted', async () => {
    const a = await spaces.create('a');
    const dm = await a.h.createDummy('dm0', { mtu: 1300 });
    assert.deepEqual([dm.kind, dm.mtu], ['dummy', 1300]);
    await a.h.setMtu(dm.index, 1200);
    assert.equal((await a.h.mustGetLink('dm0')).mtu, 1200);
    assert.equal(await a.h.deleteLink('dm0'), true);
  });
});

describe('rtnetlink tables, concurrency and errors (real kernel, private host)', function () {
  const spaces = new TestNamespaces(`rtt-${run}`);
  afterEach(() => spaces.cleanup());

  it('1000 neighbours and 1000 FDB entries added, then dumped and counted', async function () {
    this.timeout(120000);
    const a = await spaces.create('a');
    const ul = await a.h.createVeth('ul0', 'ul1');
    await addressed(a, 'ul0', '192.168.88.1/24');
    const vx = await a.h.createVxlan('vx0', { vni: 7, local: '192.168.88.1', link: ul.index });
    await addressed(a, 'vx0', '10.54.0.1/16');
    const byte = (n: number) => n.toString(16).padStart(2, '0');
    const mac = (i: number) => `02:00:00:00:${byte(i >> 8)}:${byte(i & 0xff)}`;
    for (let i = 0; i < 1000; i++) {
      // From 10.54.0.2 on: .0 and .1 are the network and the device's own address.
      await a.h.addNeigh(vx.index, `10.54.${(i + 2) >> 8}.${(i + 2) & 0xff}`, mac(i));
      await a.h.addFdb(vx.index, mac(i), `192.168.88.${(i % 200) + 2}`);
    }
    const neigh = (await a.h.listNeigh(vx.index, 4)).filter((n) => n.ip.startsWith('10.54.') && n.state === 'permanent');
    const fdb = (await a.h.listFdb(vx.index)).filter((f) => f.dst?.startsWith('192.168.88.'));
    assert.equal(neigh.length, 1000);
    assert.equal(fdb.length, 1000);
    assert.equal(new Set(fdb.map((f) => f.mac)).size, 1000);
    assert.equal(await a.h.delNeigh(vx.index, neigh[0].ip), true);
    assert.equal(await a.h.delNeigh(vx.index, neigh[0].ip), false);
    assert.equal(await a.h.delFdb(vx.index, fdb[0].mac, fdb[0].dst), true);
    assert.equal(await a.h.delFdb(vx.index, fdb[0].mac), false);
    assert.equal((await a.h.listNeigh(vx.index, 4)).filter((n) => n.state === 'permanent').length, 999);
    assert.equal((await a.h.listFdb(vx.index)).filter((f) => f.dst).length, 999);
  });

  it('20 interleaved concurrent operations (dumps and adds) on one handle all succeed', async () => {
    const a = await spaces.create('a');
    const br = await a.h.createBridge('br0');
    await a.h.setUp(br.index);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const k = i % 5;
      if (k === 0) ops.push(a.h.listLinks());
      else if (k === 1) ops.push(a.h.addAddr(br.index, `10.55.${i}.1/24`));
      else if (k === 2) ops.push(a.h.listAddrs());
      else if (k === 3) ops.push(a.h.addNeigh(br.index, `10.55.0.${i + 10}`, '02:00:00:00:ee:01'));
      else ops.push(a.h.listRoutes(4));
    }
    const results = await Promise.allSettled(ops);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
    assert.equal((await a.h.listAddrs(br.index)).filter((x) => x.cidr.startsWith('10.55.')).length, 4);
    assert.equal((await a.h.listNeigh(br.index, 4)).filter((n) => n.ip.startsWith('10.55.')).length, 4);
  });

  it('EEXIST is a ConflictError and ENODEV a NotFoundError, both with the kernel’s words; the extended ACK is kept', async () => {
    const a = await spaces.create('a');
    await a.h.createBridge('br0');
    await assert.rejects(a.h.createBridge('br0'), (e: Error) => e instanceof ConflictError && e.message === 'create bridge br0: EEXIST (File exists)');
    await assert.rejects(a.h.setUp(99999), (e: Error) => e instanceof NotFoundError && e.message === 'set link 99999 up: ENODEV (No such device)');
    await assert.rejects(a.h.addAddr(99999, '10.0.0.1/24'), NotFoundError);
    await assert.rejects(a.h.createVxlan('vx0', { vni: 1 << 24 }), (e: Error) => e instanceof InternalError && /^create vxlan vx0: ERANGE \(.+\): VXLAN ID must be lower than 16777216$/.test(e.message));
    assert.equal(await a.h.delAddr(1, '10.9.9.9/24'), false);
    assert.equal(await a.h.delRoute({ dst: '10.99.0.0/16', oif: 1 }), false);
  });

  it('a handle opened for another namespace sees only that namespace', async () => {
    const [a, b] = [await spaces.create('a'), await spaces.create('b')];
    await b.h.createBridge(`only-${run}`);
    assert.deepEqual((await b.h.listLinks()).map((l) => l.name).sort(), ['lo', `only-${run}`]);
    assert.deepEqual((await a.h.listLinks()).map((l) => l.name), ['lo']);
    const host = NetlinkHandle.open();
    try {
      assert.equal(await host.getLink(`only-${run}`), undefined);
    } finally {
      host.close();
    }
  });

  it('a request the kernel never answers times out with an InternalError naming it, and the handle stays usable', async () => {
    const { RtnlSocket } = await import('../../../src/kernel/rtnetlink/socket');
    const sock = RtnlSocket.open(undefined, 200);
    try {
      // NLMSG_NOOP without NLM_F_ACK: the kernel accepts it and sends nothing back.
      const started = Date.now();
      assert.throws(() => sock.request('noop', { type: 1, flags: 1, body: Buffer.alloc(0) }), (e: Error) => e instanceof InternalError && e.message === 'noop: no answer from the kernel within 200 ms');
      assert.ok(Date.now() - started >= 190);
      assert.ok(sock.dump('list links', { type: 18, flags: 0x301, body: Buffer.alloc(16) }).length >= 1);
    } finally {
      sock.close();
    }
    assert.throws(() => NetlinkHandle.open(undefined, { timeoutMs: 0 }), InvalidArgumentError);
    const h = NetlinkHandle.open();
    h.close();
    await assert.rejects(h.listLinks(), (e: Error) => e instanceof InternalError && e.message === 'list links: netlink handle is closed');
  });
});
