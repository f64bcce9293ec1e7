/** One store for every face: what CNI made shows in `tsnet ls`/`inspect`, addresses never collide, STATUS. */
import { strict as assert } from 'node:assert';
import { Controller } from '../../../src/index';
import { tsnet } from '../../helpers/cli';
import { cni, RUN, Scratch } from './harness';

const NET = `cni-vw-${RUN}`;
const conf = (over: object = {}) => ({ cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', ipam: { subnet: '10.125.0.0/24' }, ...over });

describe('tsnet-cni and the CLI share one store', function () {
  this.timeout(60000);
  const s = new Scratch();
  afterEach(() => s.cleanup());

  it('shows CNI networks and containers in tsnet ls / inspect, and never hands one address to two faces', async () => {
    s.network(NET);
    const ns = s.netns(`cv1-${RUN}`);
    const id = `0123456789abcdef-${RUN}`;
    const r = await cni('ADD', conf(), { containerId: id, netns: ns });
    assert.equal(r.code, 0, r.stdout);
    const ls = tsnet('ls');
    assert.equal(ls.status, 0);
    assert.match(ls.stdout, new RegExp(`\\b${NET}\\b`));
    const sandboxes = tsnet('sandbox', 'ls');
    assert.match(sandboxes.stdout, /cni-0123456789ab\b.*10\.125\.0\.2/);
    // The library face attaches a sandbox of its own to the same network: the next address, not the same.
    const c = await Controller.open();
    try {
      await c.createSandbox({ name: `lib-${RUN}`, network: NET });
      assert.equal((await c.sandboxEndpoints(`lib-${RUN}`))[0].ipv4, '10.125.0.3/24');
    } finally {
      await c.close();
    }
    const r2 = await cni('ADD', conf(), { containerId: `x-${RUN}`, netns: s.netns(`cv2-${RUN}`) });
    assert.equal((r2.json as any).ips[0].address, '10.125.0.4/24');
    const inspect = JSON.parse(tsnet('inspect', NET).stdout);
    const view = Array.isArray(inspect) ? inspect[0] : inspect;
    const names = Object.values(view.Containers as Record<string, { Name: string; IPv4Address: string }>).map((x) => `${x.Name} ${x.IPv4Address}`).sort();
    assert.deepEqual(names, ['cni-0123456789ab 10.125.0.2/24', `cni-${`x-${RUN}`.slice(0, 12)} 10.125.0.4/24`, `lib-${RUN} 10.125.0.3/24`].sort());
    assert.equal(view.Labels['dev.tsnet.cni'], 'true');
    assert.equal(tsnet('sandbox', 'rm', `lib-${RUN}`).status, 0);
  });

  it('attaches to a network made by `tsnet create` when the config names it', async () => {
    const mine = s.network(`made-${RUN}`);
    assert.equal(tsnet('create', '--subnet', '10.126.0.0/24', mine).status, 0);
    const ns = s.netns(`cv3-${RUN}`);
    const r = await cni('ADD', { cniVersion: '0.4.0', name: 'some-cni-name', type: 'tsnet-cni', network: mine }, { containerId: `m-${RUN}`, netns: ns });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual((r.json as any).ips, [{ version: '4', address: '10.126.0.2/24', gateway: '10.126.0.1', interface: 2 }]);
    assert.equal(tsnet('rm', mine).status, 4, 'in use by the CNI container');
    assert.equal((await cni('DEL', { cniVersion: '0.4.0', name: 'some-cni-name', type: 'tsnet-cni', network: mine }, { containerId: `m-${RUN}`, netns: ns })).code, 0);
    assert.equal(tsnet('rm', mine).status, 0);
  });

  it('refuses a config that contradicts the existing network of that name', async () => {
    s.network(NET);
    assert.equal((await cni('ADD', conf(), { containerId: `k-${RUN}`, netns: s.netns(`cv4-${RUN}`) })).code, 0);
    const r = await cni('ADD', conf({ ipam: { subnet: '10.127.0.0/24' } }), { containerId: `l-${RUN}`, netns: s.netns(`cv5-${RUN}`) });
    assert.equal(r.code, 1);
    assert.equal((r.json as any).code, 7);
    assert.match((r.json as any).msg, /exists with subnets 10\.125\.0\.0\/24, the config asks for 10\.127\.0\.0\/24/);
  });

  it('STATUS is ready when the store opens; not when the named network is missing (code 50)', async () => {
    const ok = await cni('STATUS', conf(), {});
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal(ok.stdout, '');
    const missing = await cni('STATUS', { cniVersion: '1.1.0', name: 'x', type: 'tsnet-cni', network: `absent-${RUN}` }, {});
    assert.equal(missing.code, 1);
    assert.equal((missing.json as any).code, 50);
    const broken = await cni('STATUS', conf(), {}, { TSNET_STATE_DIR: '/proc/version/not-a-dir' });
    assert.equal((broken.json as any).code, 50);
  });
});
