/**
 * macvlan and ipvlan on the real kernel: an "outside" namespace on the parent's L2 segment, sandboxes
 * on macvlan children of that parent, real TCP both ways; the modes as the kernel defines them; the
 * parent left as found. ipvlan, 802.1q parents and dummy parents run where the kernel has them and
 * skip here with one line naming the missing CONFIG_ option.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import { Controller, ConflictError, InvalidArgumentError, startResolver } from '../../../src/index';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import { createNetns, deleteNetns, netnsPath } from '../../../src/kernel/netns';
import { requireKernel } from '../../helpers/kernel-config';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';

const run = process.pid.toString(36);

/** A parent device in the host whose other end is eth0 of an "outside" namespace (the L2 segment), optionally behind a hairpin bridge. */
async function segment(tag: string, opts: { outsideIp: string; hairpinBridge?: boolean }): Promise<{ parent: string; outside: string; remove(): Promise<void> }> {
  const parent = `p${tag}`.slice(0, 15);
  const outside = netnsPath(`o${tag}`);
  createNetns(outside);
  const host = NetlinkHandle.open();
  const out = NetlinkHandle.open(outside);
  const fd = fs.openSync(outside, 'r');
  try {
    const link = await host.createVeth(parent, 'seg0', { peerNetnsFd: fd });
    await host.setUp(link.index);
    const seg = await out.mustGetLink('seg0');
    await out.setUp((await out.mustGetLink('lo')).index);
    let l3 = seg;
    if (opts.hairpinBridge) {
      // A switch that reflects frames back out of the port they came in on: what VEPA needs to reach a sibling.
      l3 = await out.createBridge('sw0');
      await out.setMaster(seg.index, l3.index);
      await out.setHairpin(seg.index, true);
      await out.setUp(l3.index);
    }
    await out.setUp(seg.index);
    await out.addAddr(l3.index, opts.outsideIp);
  } finally {
    fs.closeSync(fd);
    host.close();
    out.close();
  }
  return {
    parent, outside,
    async remove() {
      const h = NetlinkHandle.open();
      try {
        await h.deleteLink(parent).catch(() => undefined);
      } finally {
        h.close();
      }
      deleteNetns(outside);
    },
  };
}

describe('macvlan and ipvlan drivers (real kernel, private host)', function () {
  let c: Controller;
  const sandboxes: string[] = [];
  const networks: string[] = [];
  const segments: { remove(): Promise<void> }[] = [];

  before(async () => {
    c = await Controller.open({ config: {} });
  });
  afterEach(async () => {
    for (const s of sandboxes.splice(0)) await c.deleteSandbox(s).catch(() => undefined);
    for (const n of networks.splice(0)) await c.deleteNetwork(n).catch(() => undefined);
    for (const s of segments.splice(0)) await s.remove();
  });
  after(() => c.close());

  async function seg(tag: string, opts: { outsideIp: string; hairpinBridge?: boolean }) {
    const s = await segment(`${tag}${run}`, opts);
    segments.push(s);
    return s;
  }
  async function net(name: string, driver: string, options: Record<string, string>, subnet = '192.168.50.0/24', gateway = '192.168.50.1', extra: object = {}) {
    networks.push(name);
    return c.createNetwork({ name, driver, options, ipam: [{ subnet, gateway }], ...extra });
  }
  async function sandbox(name: string, network: string, extra: object = {}) {
    sandboxes.push(name);
    return c.createSandbox({ name, network, ...extra });
  }
  const ip = async (sb: string) => (await c.sandboxEndpoints(sb))[0].ipv4!.split('/')[0];

  it('macvlan bridge: the outside reaches a sandbox by address and back, two sandboxes on one parent talk', async () => {
    const s = await seg('mb', { outsideIp: '192.168.50.1/24' });
    const n = await net(`mvb-${run}`, 'macvlan', { parent: s.parent, macvlan_mode: 'bridge' });
    const a = await sandbox(`mva-${run}`, n.name);
    const b = await sandbox(`mvbb-${run}`, n.name);
    assert.equal(await ip(a.name), '192.168.50.2');
    const srvA = await startEchoServer(a.key, 8080);
    const srvOut = await startEchoServer(s.outside, 8081);
    try {
      assert.equal(await tcpExchange(s.outside, '192.168.50.2', 8080, 'out-to-a'), 'echo:out-to-a');
      assert.equal(await tcpExchange(a.key, '192.168.50.1', 8081, 'a-to-out'), 'echo:a-to-out');
      assert.equal(await tcpExchange(b.key, '192.168.50.2', 8080, 'b-to-a'), 'echo:b-to-a');
    } finally {
      srvA.stop();
      srvOut.stop();
    }
    // Names are served on macvlan networks as on user-defined bridges (the embedded resolver in the sandbox).
    const resolver = await startResolver(c.dnsSource());
    try {
      // Asynchronous: the resolver answering runs in this very process.
      const answer = (await promisify(execFile)('nsenter', [`--net=${a.key}`, '--', 'dig', '+short', '+tries=1', '+time=3', '@127.0.0.11', b.name])).stdout.trim();
      assert.equal(answer, '192.168.50.3');
    } finally {
      await resolver.close();
    }
    // The default route goes through the network's gateway, and the interface is a macvlan child.
    const inside = NetlinkHandle.open(a.key);
    try {
      const eth0 = await inside.mustGetLink('eth0');
      assert.equal(eth0.kind, 'macvlan');
      assert.ok((await inside.listRoutes(4)).some((r) => !r.dst && r.gateway === '192.168.50.1' && r.oif === eth0.index));
    } finally {
      inside.close();
    }
  });

  it('macvlan private: siblings cannot talk even through a reflecting switch; vepa: they talk only through it', async () => {
    const s = await seg('mp', { outsideIp: '192.168.51.1/24', hairpinBridge: true });
    const priv = await net(`mvp-${run}`, 'macvlan', { parent: s.parent, macvlan_mode: 'private' }, '192.168.51.0/24', '192.168.51.1');
    const a = await sandbox(`mpa-${run}`, priv.name);
    const b = await sandbox(`mpb-${run}`, priv.name);
    const srv = await startEchoServer(a.key, 8080);
    try {
      assert.equal(await tcpExchange(s.outside, await ip(a.name), 8080, 'out'), 'echo:out');
      assert.notEqual(await tcpExchange(b.key, await ip(a.name), 8080, 'sib', 1500), 'echo:sib');
    } finally {
      srv.stop();
    }
    for (const sb of sandboxes.splice(0)) await c.deleteSandbox(sb);
    await c.deleteNetwork(networks.pop()!);
    const vepa = await net(`mvv-${run}`, 'macvlan', { parent: s.parent, macvlan_mode: 'vepa' }, '192.168.51.0/24', '192.168.51.1');
    const va = await sandbox(`mva2-${run}`, vepa.name);
    const vb = await sandbox(`mvb2-${run}`, vepa.name);
    const srv2 = await startEchoServer(va.key, 8080);
    try {
      // VEPA sends sibling traffic out to the switch, whose hairpin port reflects it back.
      assert.equal(await tcpExchange(vb.key, await ip(va.name), 8080, 'via-switch'), 'echo:via-switch');
    } finally {
      srv2.stop();
    }
  });

  it('macvlan passthru: one endpoint only, and the parent is left as found (MAC, no child)', async () => {
    const s = await seg('mt', { outsideIp: '192.168.52.1/24' });
    const host = NetlinkHandle.open();
    try {
      const before = await host.mustGetLink(s.parent);
      const n = await net(`mvt-${run}`, 'macvlan', { parent: s.parent, macvlan_mode: 'passthru' }, '192.168.52.0/24', '192.168.52.1');
      const a = await sandbox(`mta-${run}`, n.name);
      const srv = await startEchoServer(a.key, 8080);
      try {
        assert.equal(await tcpExchange(s.outside, await ip(a.name), 8080, 'pt'), 'echo:pt');
      } finally {
        srv.stop();
      }
      await assert.rejects(sandbox(`mtb-${run}`, n.name), (e: Error) => e instanceof ConflictError && /passthru takes one endpoint/.test(e.message));
      for (const sb of sandboxes.splice(0)) await c.deleteSandbox(sb).catch(() => undefined);
      await c.deleteNetwork(networks.pop()!);
      const after = await host.mustGetLink(s.parent);
      assert.equal(after.mac, before.mac);
      assert.equal(after.up, before.up);
      assert.equal((await host.listLinks()).filter((l) => l.parent === after.index && l.kind === 'macvlan').length, 0);
    } finally {
      host.close();
    }
  });

  it('refuses -p (no NAT), a second driver or mode on one parent, and passthru beside another network', async () => {
    const s = await seg('mr', { outsideIp: '192.168.53.1/24' });
    const n = await net(`mvr-${run}`, 'macvlan', { parent: s.parent }, '192.168.53.0/24', '192.168.53.1');
    await assert.rejects(sandbox(`mra-${run}`, n.name, { publish: ['8080:80'] }), (e: Error) => e instanceof ConflictError && /port publishing and the macvlan network driver/.test(e.message));
    assert.deepEqual(await c.listSandboxes().then((l) => l.filter((x) => x.name === `mra-${run}`)), []);
    // Claims are checked before the kernel is touched, so these run on kernels without ipvlan too.
    await assert.rejects(net(`ivr-${run}`, 'ipvlan', { parent: s.parent }, '192.168.54.0/24', '192.168.54.1'), (e: Error) => e instanceof ConflictError && new RegExp(`parent ${s.parent}: already used by network "mvr-${run}"`).test(e.message));
    await assert.rejects(net(`mvr2-${run}`, 'macvlan', { parent: s.parent, macvlan_mode: 'passthru' }, '192.168.55.0/24', '192.168.55.1'), ConflictError);
    await assert.rejects(net(`mvr3-${run}`, 'macvlan', { parent: s.parent, macvlan_mode: 'bogus' }, '192.168.56.0/24', '192.168.56.1'), InvalidArgumentError);
    await assert.rejects(net(`mvr4-${run}`, 'macvlan', { parent: s.parent, macvlan_mod: 'bridge' }, '192.168.57.0/24', '192.168.57.1'), (e: Error) => e instanceof InvalidArgumentError && /unknown option "macvlan_mod"/.test(e.message));
    // A second macvlan network in the same mode may share the parent, as Docker allows.
    await net(`mvr5-${run}`, 'macvlan', { parent: s.parent }, '192.168.58.0/24', '192.168.58.1');
  });

  it('deleting a network never touches a parent tsnet did not create', async () => {
    const s = await seg('mk', { outsideIp: '192.168.59.1/24' });
    const n = await net(`mvk-${run}`, 'macvlan', { parent: s.parent }, '192.168.59.0/24', '192.168.59.1');
    await sandbox(`mka-${run}`, n.name);
    for (const sb of sandboxes.splice(0)) await c.deleteSandbox(sb);
    await c.deleteNetwork(networks.pop()!);
    const host = NetlinkHandle.open();
    try {
      const parent = await host.mustGetLink(s.parent);
      assert.ok(parent.up);
    } finally {
      host.close();
    }
  });

  it('no parent: the network gets a parent of its own (dummy, or an empty bridge without CONFIG_DUMMY), removed with it', async () => {
    const n = await net(`mvd-${run}`, 'macvlan', {}, '192.168.60.0/24', '192.168.60.1');
    const a = await sandbox(`mda-${run}`, n.name);
    const b = await sandbox(`mdb-${run}`, n.name);
    const srv = await startEchoServer(a.key, 8080);
    try {
      assert.equal(await tcpExchange(b.key, await ip(a.name), 8080, 'dm'), 'echo:dm');
    } finally {
      srv.stop();
    }
    const host = NetlinkHandle.open();
    try {
      const dm = `dm-${n.id.slice(0, 12)}`;
      assert.ok(await host.getLink(dm));
      for (const sb of sandboxes.splice(0)) await c.deleteSandbox(sb);
      await c.deleteNetwork(networks.pop()!);
      assert.equal(await host.getLink(dm), undefined);
    } finally {
      host.close();
    }
  });

  it('an 802.1q parent eth.N is created on demand, carries tagged frames, and goes with the network', async function () {
    requireKernel(this, 'VLAN_8021Q');
    // The outside sees the tagged frames on a VLAN interface of the same id.
    const vlanSeg = await seg('mv', { outsideIp: '10.99.1.254/24' });
    const o2 = NetlinkHandle.open(vlanSeg.outside);
    try {
      const base = await o2.mustGetLink('seg0');
      await o2.delAddr(base.index, '10.99.1.254/24');
      const v = await o2.createVlan('seg0.50', base.index, 50);
      await o2.addAddr(v.index, '10.99.1.254/24');
      await o2.setUp(v.index);
    } finally {
      o2.close();
    }
    const parent = `${vlanSeg.parent.slice(0, 10)}.50`;
    const n = await net(`mvq-${run}`, 'macvlan', { parent }, '10.99.1.0/24', '10.99.1.254');
    const a = await sandbox(`mqa-${run}`, n.name);
    const srv = await startEchoServer(a.key, 8080);
    try {
      assert.equal(await tcpExchange(vlanSeg.outside, await ip(a.name), 8080, 'tagged'), 'echo:tagged');
    } finally {
      srv.stop();
    }
    await assert.rejects(net(`mvq2-${run}`, 'macvlan', { parent }, '10.99.2.0/24', '10.99.2.254'), ConflictError);
    for (const sb of sandboxes.splice(0)) await c.deleteSandbox(sb);
    await c.deleteNetwork(networks.pop()!);
    const host = NetlinkHandle.open();
    try {
      assert.equal(await host.getLink(parent), undefined);
    } finally {
      host.close();
    }
  });

  for (const mode of ['l2', 'l3'] as const) {
    it(`ipvlan ${mode}: the outside reaches a sandbox${mode === 'l3' ? ' routed via the parent' : ''}, and back`, async function () {
      requireKernel(this, 'IPVLAN');
      const s = await seg(`i${mode}`, { outsideIp: mode === 'l2' ? '192.168.61.1/24' : '192.168.62.1/24' });
      const subnet = mode === 'l2' ? '192.168.61.0/24' : '10.61.0.0/24';
      const n = await net(`iv${mode}-${run}`, 'ipvlan', { parent: s.parent, ipvlan_mode: mode }, subnet, mode === 'l2' ? '192.168.61.1' : '10.61.0.1');
      const a = await sandbox(`i${mode}a-${run}`, n.name);
      if (mode === 'l3') {
        // The outside routes the network's subnet via the parent's address, as an upstream router would.
        const host = NetlinkHandle.open();
        const out = NetlinkHandle.open(s.outside);
        try {
          const p = await host.mustGetLink(s.parent);
          await host.addAddr(p.index, '192.168.62.2/24');
          await out.addRoute({ dst: subnet, gateway: '192.168.62.2' });
        } finally {
          host.close();
          out.close();
        }
        const inside = NetlinkHandle.open(a.key);
        try {
          // l3: `default dev eth0`, no gateway, as Docker does.
          assert.ok((await inside.listRoutes(4)).some((r) => !r.dst && !r.gateway));
        } finally {
          inside.close();
        }
      }
      const srv = await startEchoServer(a.key, 8080);
      try {
        assert.equal(await tcpExchange(s.outside, await ip(a.name), 8080, `iv-${mode}`), `echo:iv-${mode}`);
      } finally {
        srv.stop();
      }
      await assert.rejects(net(`iv${mode}x-${run}`, 'ipvlan', { parent: s.parent, ipvlan_mode: mode === 'l2' ? 'l3' : 'l2' }, '10.62.0.0/24', '10.62.0.1'), ConflictError);
    });
  }
});
