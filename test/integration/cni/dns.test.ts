/** `"dns": true`: the result points the runtime at the embedded resolver, which answers for CNI containers by name and alias. */
import { strict as assert } from 'node:assert';
import { cni, lookup, RUN, Scratch } from './harness';

const NET = `cni-dns-${RUN}`;
const conf = (over: object = {}) => ({ cniVersion: '1.0.0', name: NET, type: 'tsnet-cni', dns: true, ipam: { subnet: '10.135.0.0/24' }, capabilities: { aliases: true }, ...over });

describe('tsnet-cni with the embedded resolver', function () {
  this.timeout(60000);
  const s = new Scratch();
  beforeEach(() => s.network(NET));
  afterEach(() => s.cleanup());

  it('reports 127.0.0.11 as the nameserver and resolves containers by sandbox name and alias', async () => {
    const a = s.netns(`cdns1-${RUN}`), b = s.netns(`cdns2-${RUN}`);
    const ra = await cni('ADD', conf(), { containerId: `web-${RUN}`, netns: a });
    assert.equal(ra.code, 0, ra.stdout);
    assert.deepEqual((ra.json as any).dns, { nameservers: ['127.0.0.11'] });
    const rb = await cni('ADD', conf({ runtimeConfig: { aliases: { [NET]: ['db'] } } }), { containerId: `db-${RUN}`, netns: b });
    assert.equal(rb.code, 0, rb.stdout);
    assert.deepEqual(lookup(`cdns1-${RUN}`, 'db'), ['10.135.0.3']);
    assert.deepEqual(lookup(`cdns1-${RUN}`, `cni-db-${RUN}`.slice(0, 16)), ['10.135.0.3']);
    assert.deepEqual(lookup(`cdns2-${RUN}`, `cni-web-${RUN}`.slice(0, 16)), ['10.135.0.2']);
    assert.equal((await cni('DEL', conf(), { containerId: `db-${RUN}`, netns: b })).code, 0);
    assert.deepEqual(lookup(`cdns1-${RUN}`, 'db'), []);
  });
});
