/** ADD and DEL through the plugin binary, as a runtime execs it: real traffic, kernel state, result shapes, idempotent DEL. */
import { strict as assert } from 'node:assert';
import { containerRecords } from '../../../plugins/cni/attachments';
import { Controller } from '../../../src/index';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';
import { cni, ipIn, RUN, Scratch } from './harness';

const NET = `cni-ad-${RUN}`;
const BRIDGE = `cad${RUN}`.slice(0, 15);
const conf = (over: object = {}) => ({ cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', bridge: BRIDGE, ipMasq: true, ipam: { type: 'host-local', subnet: '10.123.0.0/24', routes: [{ dst: '0.0.0.0/0' }] }, ...over });

describe('tsnet-cni ADD/DEL (binary, real kernel)', function () {
  this.timeout(60000);
  const s = new Scratch();
  beforeEach(() => s.network(NET));
  afterEach(() => s.cleanup());

  it('attaches two containers that exchange TCP; the result matches the kernel', async () => {
    const a = s.netns(`ca-${RUN}`), b = s.netns(`cb-${RUN}`);
    const ra = await cni('ADD', conf(), { containerId: `a-${RUN}`, netns: a });
    const rb = await cni('ADD', conf(), { containerId: `b-${RUN}`, netns: b });
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    const res = ra.json as any;
    assert.equal(res.cniVersion, '1.1.0');
    assert.deepEqual(res.interfaces.map((i: any) => [i.name, !!i.sandbox]), [[BRIDGE, false], [res.interfaces[1].name, false], ['eth0', true]]);
    assert.equal(res.interfaces[2].sandbox, a);
    assert.deepEqual(res.ips, [{ address: '10.123.0.2/24', gateway: '10.123.0.1', interface: 2 }]);
    assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: '10.123.0.1' }]);
    const link = JSON.parse(ipIn(`ca-${RUN}`, '-j', 'addr', 'show', 'eth0'))[0];
    assert.equal(link.address, res.interfaces[2].mac);
    assert.equal(link.mtu, res.interfaces[2].mtu);
    assert.ok(link.addr_info.some((x: any) => x.local === '10.123.0.2' && x.prefixlen === 24));
    assert.match(ipIn(`ca-${RUN}`, 'route', 'show', 'default'), /default via 10\.123\.0\.1 dev eth0/);
    const server = await startEchoServer(b, 7000);
    try {
      assert.equal(await tcpExchange(a, '10.123.0.3', 7000, 'a-to-b'), 'echo:a-to-b');
      assert.equal(await tcpExchange('', '10.123.0.3', 7000, 'host-to-b'), 'echo:host-to-b');
    } finally {
      server.stop();
    }
    for (const [id, ns] of [[`a-${RUN}`, a], [`b-${RUN}`, b]]) assert.equal((await cni('DEL', conf(), { containerId: id, netns: ns })).code, 0);
    assert.equal(ipIn(`ca-${RUN}`, '-br', 'link').includes('eth0'), false);
  });

  for (const version of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    it(`writes the ${version} result shape`, async () => {
      const ns = s.netns(`cv-${RUN}`);
      const r = await cni('ADD', conf({ cniVersion: version }), { containerId: `v-${RUN}`, netns: ns });
      assert.equal(r.code, 0, r.stdout);
      const res = r.json as any;
      assert.equal(res.cniVersion, version);
      assert.equal(res.ips[0].version, version.startsWith('0.') ? '4' : undefined);
      assert.equal(typeof res.interfaces[2].mtu, version === '1.1.0' ? 'number' : 'undefined');
      // The embedded resolver is on by default on a network that serves names.
      assert.deepEqual(res.dns, { nameservers: ['127.0.0.11'] });
      assert.equal((await cni('DEL', conf({ cniVersion: version }), { containerId: `v-${RUN}`, netns: ns })).code, 0);
    });
  }

  it('attaches dual stack from host-local range sets, with the config\'s routes, and TCP over IPv6', async () => {
    const dual = s.network(`cni-ad6-${RUN}`);
    const conf6 = {
      cniVersion: '1.1.0', name: dual, type: 'tsnet-cni',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.136.0.0/24', rangeStart: '10.136.0.10', rangeEnd: '10.136.0.250' }], [{ subnet: 'fd00:136::/64' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }, { dst: '192.0.2.0/24' }] },
    };
    const a = s.netns(`c6a-${RUN}`), b = s.netns(`c6b-${RUN}`);
    const ra = await cni('ADD', conf6, { containerId: `6a-${RUN}`, netns: a });
    assert.equal(ra.code, 0, ra.stdout);
    const res = ra.json as any;
    assert.deepEqual(res.ips, [{ address: '10.136.0.10/24', gateway: '10.136.0.1', interface: 2 }, { address: 'fd00:136::2/64', gateway: 'fd00:136::1', interface: 2 }]);
    assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: '10.136.0.1' }, { dst: '192.0.2.0/24', gw: '10.136.0.1' }, { dst: '::/0', gw: 'fd00:136::1' }]);
    const rb = await cni('ADD', conf6, { containerId: `6b-${RUN}`, netns: b });
    assert.equal((rb.json as any).ips[0].address, '10.136.0.11/24');
    const server = await startEchoServer(b, 7001, '::');
    try {
      assert.equal(await tcpExchange(a, 'fd00:136::3', 7001, 'v6'), 'echo:v6');
    } finally {
      server.stop();
    }
  });

  it('gives one container interfaces on two networks, each DEL taking its own', async () => {
    const other = s.network(`cni-ad2-${RUN}`);
    const conf2 = { cniVersion: '1.0.0', name: other, type: 'tsnet-cni', ipam: { subnet: '10.124.0.0/24' } };
    const ns = s.netns(`ct-${RUN}`);
    const id = `two-${RUN}`;
    assert.equal((await cni('ADD', conf(), { containerId: id, netns: ns })).code, 0);
    const r2 = await cni('ADD', conf2, { containerId: id, netns: ns, ifname: 'net1' });
    assert.equal(r2.code, 0, r2.stdout);
    assert.deepEqual((r2.json as any).routes, [], 'the second network adds no default route');
    assert.match(ipIn(`ct-${RUN}`, '-br', 'addr'), /net1\S*\s+UP\s+10\.124\.0\.2\/24/);
    const c = await Controller.open({ readOnly: true });
    try {
      const sb = (await c.listSandboxes()).find((x) => x.key === ns)!;
      assert.equal(sb.name, `cni-${id.slice(0, 12)}`);
      assert.deepEqual((await c.sandboxEndpoints(sb.id)).map((e) => e.ifname), ['eth0', 'net1']);
    } finally {
      await c.close();
    }
    assert.equal((await cni('DEL', conf2, { containerId: id, netns: ns, ifname: 'net1' })).code, 0);
    assert.doesNotMatch(ipIn(`ct-${RUN}`, '-br', 'link'), /net1/);
    assert.match(ipIn(`ct-${RUN}`, '-br', 'link'), /eth0/);
    assert.equal((await cni('DEL', conf(), { containerId: id, netns: ns })).code, 0);
    assert.ok(!storeKeys().some((k) => k.includes(id)), 'record, sandbox and endpoints are gone');
  });

  it('DEL succeeds for a second DEL, an unknown container, no CNI_NETNS, and a namespace already gone', async () => {
    const ns = s.netns(`cd-${RUN}`);
    assert.equal((await cni('ADD', conf(), { containerId: `d-${RUN}`, netns: ns })).code, 0);
    const kernel = await snapshot();
    s.dropNetns(`cd-${RUN}`);
    for (let i = 0; i < 2; i++) {
      const r = await cni('DEL', conf(), { containerId: `d-${RUN}`, netns: ns });
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.stdout, '');
    }
    assert.equal((await cni('DEL', conf(), { containerId: `never-${RUN}`, netns: ns })).code, 0);
    assert.equal((await cni('DEL', conf(), { containerId: `never-${RUN}` })).code, 0);
    const after = await snapshot();
    assert.ok(after.links.length < kernel.links.length, 'the host veth went with the namespace');
    assert.deepEqual(storeKeys().filter((k) => k.startsWith('cni/') || k.startsWith('sandbox-name/cni-')), []);
    // The address is free again: another container may ask for it.
    const again = await cni('ADD', conf({ runtimeConfig: { ips: ['10.123.0.2/24'] } }), { containerId: `d2-${RUN}`, netns: s.netns(`cd2-${RUN}`) });
    assert.equal((again.json as any).ips[0].address, '10.123.0.2/24');
  });

  it('DEL follows a record a killed plugin left half-written (sandbox name only)', async () => {
    const ns = s.netns(`ck-${RUN}`);
    const id = `killed-${RUN}`;
    assert.equal((await cni('ADD', conf(), { containerId: id, netns: ns })).code, 0);
    const c = await Controller.open({ readOnly: true });
    try {
      // As if the plugin died between making the sandbox and recording its id.
      const records = containerRecords(c);
      const rec = (await records.get(id))!;
      assert.ok(rec.sandboxId, 'ADD recorded the sandbox id');
      delete rec.sandboxId;
      await records.put(id, rec);
    } finally {
      await c.close();
    }
    assert.equal((await cni('DEL', conf(), { containerId: id, netns: ns })).code, 0);
    assert.doesNotMatch(ipIn(`ck-${RUN}`, '-br', 'link'), /eth0/);
    assert.ok(!storeKeys().some((k) => k.includes(id)));
  });

  it('refuses a second ADD of the same attachment and undoes a failed ADD completely', async () => {
    const ns = s.netns(`cf-${RUN}`);
    assert.equal((await cni('ADD', conf(), { containerId: `f-${RUN}`, netns: ns })).code, 0);
    const kernel = await snapshot();
    const keys = storeKeys();
    const twice = await cni('ADD', conf(), { containerId: `f-${RUN}`, netns: ns });
    assert.equal(twice.code, 1);
    assert.match((twice.json as any).msg, /already has interface eth0/);
    // A static address another container holds: the ADD fails after its sandbox was made, and takes it back.
    const taken = await cni('ADD', conf({ runtimeConfig: { ips: ['10.123.0.2/24'] } }), { containerId: `g-${RUN}`, netns: s.netns(`cg-${RUN}`) });
    assert.equal(taken.code, 1);
    assert.match((taken.json as any).msg, /already in use/);
    assert.deepEqual((await snapshot()).links, kernel.links);
    assert.deepEqual(storeKeys(), keys);
  });
});
