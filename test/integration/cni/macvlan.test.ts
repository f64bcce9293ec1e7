/** `"driver": "macvlan"`: a network of the macvlan driver made on first ADD, its containers talking over it; CHECK and DEL as for the bridge. */
import { strict as assert } from 'node:assert';
import { requireKernel } from '../../helpers/kernel-config';
import { storeKeys } from '../../helpers/store-state';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';
import { tsnet } from '../../helpers/cli';
import { cni, ipIn, RUN, Scratch } from './harness';

const NET = `cni-mv-${RUN}`;
const conf = (over: object = {}) => ({ cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', driver: 'macvlan', ipam: { subnet: '10.137.0.0/24', routes: [{ dst: '0.0.0.0/0' }] }, ...over });

describe('tsnet-cni with the macvlan driver', function () {
  this.timeout(60000);
  const s = new Scratch();
  before(function () {
    requireKernel(this, 'MACVLAN');
  });
  beforeEach(() => s.network(NET));
  afterEach(() => s.cleanup());

  it('attaches containers on macvlan children that exchange TCP; the result has the container interface only', async () => {
    const a = s.netns(`cmva-${RUN}`), b = s.netns(`cmvb-${RUN}`);
    const ra = await cni('ADD', conf(), { containerId: `mva-${RUN}`, netns: a });
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    const rb = await cni('ADD', conf(), { containerId: `mvb-${RUN}`, netns: b });
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    const res = ra.json as any;
    assert.deepEqual(res.interfaces.map((i: any) => [i.name, i.sandbox]), [['eth0', a]]);
    assert.deepEqual(res.ips, [{ address: '10.137.0.2/24', gateway: '10.137.0.1', interface: 0 }]);
    assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: '10.137.0.1' }]);
    assert.match(ipIn(`cmva-${RUN}`, '-d', 'link', 'show', 'eth0'), /macvlan mode bridge/);
    const view = JSON.parse(tsnet('inspect', NET).stdout);
    assert.equal((Array.isArray(view) ? view[0] : view).Driver, 'macvlan');
    const server = await startEchoServer(b, 7002);
    try {
      assert.equal(await tcpExchange(a, '10.137.0.3', 7002, 'mv'), 'echo:mv');
    } finally {
      server.stop();
    }
    const check = await cni('CHECK', conf({ prevResult: res }), { containerId: `mva-${RUN}`, netns: a });
    assert.equal(check.code, 0, check.stdout);
    ipIn(`cmva-${RUN}`, 'link', 'set', 'eth0', 'down');
    const drifted = await cni('CHECK', conf({ prevResult: res }), { containerId: `mva-${RUN}`, netns: a });
    assert.match((drifted.json as any).msg, /eth0 is down/);
    for (const [id, ns] of [[`mva-${RUN}`, a], [`mvb-${RUN}`, b]]) assert.equal((await cni('DEL', conf(), { containerId: id, netns: ns })).code, 0);
    assert.doesNotMatch(ipIn(`cmva-${RUN}`, '-br', 'link'), /eth0/);
    assert.ok(!storeKeys().some((k) => k.startsWith('cni/')));
  });

  it('refuses bridge keys with the macvlan driver before making anything (code 7)', async () => {
    const r = await cni('ADD', conf({ bridge: 'br-mv' }), { containerId: `mvx-${RUN}`, netns: s.netns(`cmvx-${RUN}`) });
    assert.equal(r.code, 1);
    assert.equal((r.json as any).code, 7);
    assert.match((r.json as any).msg, /bridge applies to the bridge driver only, not "macvlan"/);
    assert.notEqual(tsnet('inspect', NET).status, 0, 'no network was made');
  });
});
