/** CHECK against prevResult (and drift found as errors), and GC of every attachment the runtime no longer lists. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { storeKeys } from '../../helpers/store-state';
import { cni, ipIn, RUN, Scratch } from './harness';

const NET = `cni-ck-${RUN}`;
const conf = (over: object = {}) => ({ cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', ipam: { subnet: '10.128.0.0/24', routes: [{ dst: '0.0.0.0/0' }, { dst: '192.0.2.0/24' }] }, ...over });

describe('tsnet-cni CHECK and GC', function () {
  this.timeout(60000);
  const s = new Scratch();
  beforeEach(() => s.network(NET));
  afterEach(() => s.cleanup());

  /** ADDs a container and returns its namespace name, path and result. */
  async function add(tag: string) {
    const name = `${tag}-${RUN}`;
    const netns = s.netns(`ck${name}`);
    const r = await cni('ADD', conf(), { containerId: name, netns });
    assert.equal(r.code, 0, r.stdout);
    return { id: name, ns: `ck${name}`, netns, result: r.json as Record<string, any> };
  }

  it('passes right after ADD, with the config\'s extra route in place', async () => {
    const c = await add('ok');
    assert.deepEqual(c.result.routes, [{ dst: '0.0.0.0/0', gw: '10.128.0.1' }, { dst: '192.0.2.0/24', gw: '10.128.0.1' }]);
    const r = await cni('CHECK', conf({ prevResult: c.result }), { containerId: c.id, netns: c.netns });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, '');
  });

  const drifts: [string, (c: Awaited<ReturnType<typeof add>>) => void, RegExp][] = [
    ['a deleted veth', (c) => execFileSync('ip', ['link', 'del', c.result.interfaces[1].name]), /interface eth0 is missing/],
    ['a removed address', (c) => ipIn(c.ns, 'addr', 'del', '10.128.0.2/24', 'dev', 'eth0'), /address 10\.128\.0\.2\/24 is missing/],
    ['a removed route', (c) => ipIn(c.ns, 'route', 'del', '192.0.2.0/24'), /route 192\.0\.2\.0\/24 via 10\.128\.0\.1 is missing/],
    ['a changed MAC', (c) => ipIn(c.ns, 'link', 'set', 'eth0', 'address', '02:11:22:33:44:55'), /has MAC 02:11:22:33:44:55/],
    ['an interface set down', (c) => ipIn(c.ns, 'link', 'set', 'eth0', 'down'), /eth0 is down/],
    ['a veth taken off the bridge', (c) => execFileSync('ip', ['link', 'set', c.result.interfaces[1].name, 'nomaster']), /is not a port of bridge/],
  ];
  for (const [what, breakIt, re] of drifts) {
    it(`reports ${what}`, async () => {
      const c = await add('dr');
      breakIt(c);
      const r = await cni('CHECK', conf({ prevResult: c.result }), { containerId: c.id, netns: c.netns });
      assert.equal(r.code, 1);
      assert.match((r.json as any).msg, re);
    });
  }

  it('reports an unknown container as code 3 and a missing prevResult as code 7', async () => {
    const c = await add('uk');
    const unknown = await cni('CHECK', conf({ prevResult: c.result }), { containerId: `nobody-${RUN}`, netns: c.netns });
    assert.equal((unknown.json as any).code, 3);
    const noPrev = await cni('CHECK', conf(), { containerId: c.id, netns: c.netns });
    assert.equal((noPrev.json as any).code, 7);
  });

  it('GC removes every attachment not listed, and only those', async () => {
    const keep = await add('gk');
    const drop1 = await add('gd1');
    const drop2 = await add('gd2');
    const r = await cni('GC', conf({ 'cni.dev/valid-attachments': [{ containerID: keep.id, ifname: 'eth0' }] }), {});
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, '');
    for (const gone of [drop1, drop2]) {
      assert.doesNotMatch(ipIn(gone.ns, '-br', 'link'), /eth0/);
      assert.ok(!storeKeys().some((k) => k.includes(gone.id)), `${gone.id} left in the store`);
    }
    const check = await cni('CHECK', conf({ prevResult: keep.result }), { containerId: keep.id, netns: keep.netns });
    assert.equal(check.code, 0, check.stdout);
    // GC is idempotent, and an empty list clears the network.
    assert.equal((await cni('GC', conf({ 'cni.dev/valid-attachments': [{ containerID: keep.id, ifname: 'eth0' }] }), {})).code, 0);
    assert.equal((await cni('GC', conf({ 'cni.dev/valid-attachments': [] }), {})).code, 0);
    assert.ok(!storeKeys().some((k) => k.startsWith('cni/')));
  });
});
