/** A runtime starting many containers at once: 100 ADDs in parallel (racing to create the network too), then 100 DELs. */
import { strict as assert } from 'node:assert';
import { tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { tcpExchange } from '../../helpers/traffic';
import { cni, RUN, Scratch } from './harness';

const N = 100;
const NET = `cni-par-${RUN}`;
const BRIDGE = `cpar${RUN}`.slice(0, 15);
const conf = { cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', bridge: BRIDGE, ipam: { subnet: '10.132.0.0/24' } };

describe('tsnet-cni under a parallel runtime', function () {
  this.timeout(300000);
  const s = new Scratch();
  afterEach(() => s.cleanup());

  it(`${N} parallel ADDs: ${N} distinct addresses, all reachable; ${N} parallel DELs leave nothing`, async () => {
    assert.equal(tsnet('ls', '-q').status, 0); // predefined networks first, so the snapshots compare like with like
    s.network(NET);
    const kernelBefore = await snapshot();
    const keysBefore = storeKeys();
    const atts = Array.from({ length: N }, (_, i) => ({ containerId: `par${i}-${RUN}`, netns: s.netns(`cpar${i}-${RUN}`) }));
    const nsNames = (await snapshot()).netns;

    const added = await Promise.all(atts.map((a) => cni('ADD', conf, a)));
    assert.deepEqual(added.filter((r) => r.code !== 0).map((r) => r.stdout + r.stderr), []);
    const ips = added.map((r) => ((r.json as any).ips[0].address as string).split('/')[0]);
    assert.equal(new Set(ips).size, N);
    assert.ok(ips.every((ip) => ip.startsWith('10.132.0.')));
    // A refused connection is an answer from the container's own stack: the address is reachable through the bridge.
    const probes = await Promise.all(ips.map((ip) => tcpExchange('', ip, 9, 'x', 3000)));
    assert.deepEqual(probes.map((p, i) => [ips[i], p]).filter(([, p]) => p !== 'error:ECONNREFUSED'), []);

    const deleted = await Promise.all(atts.map((a) => cni('DEL', conf, a)));
    assert.deepEqual(deleted.filter((r) => r.code !== 0).map((r) => r.stdout + r.stderr), []);
    // The network the plugin made goes with its last attachment: bridge, gateway, pools and records.
    const kernelAfter = await snapshot();
    assert.deepEqual(kernelAfter.links, kernelBefore.links);
    assert.deepEqual(kernelAfter.addrs, kernelBefore.addrs);
    assert.deepEqual(kernelAfter.netns, nsNames);
    // host/boot-id is the host's (written by the first state-changing process, here the resolver daemon ADD started).
    assert.deepEqual(storeKeys().filter((k) => k !== 'host/boot-id'), keysBefore.filter((k) => k !== 'host/boot-id'));
  });

  it('ADDs racing the last DEL (which removes the network it made) all succeed; the network is made again', async () => {
    const first = { containerId: `race0-${RUN}`, netns: s.netns(`crace0-${RUN}`) };
    assert.equal((await cni('ADD', conf, first)).code, 0);
    const others = Array.from({ length: 20 }, (_, i) => ({ containerId: `race${i + 1}-${RUN}`, netns: s.netns(`crace${i + 1}-${RUN}`) }));
    const [del, ...added] = await Promise.all([cni('DEL', conf, first), ...others.map((a) => cni('ADD', conf, a))]);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(added.filter((r) => r.code !== 0).map((r) => r.stdout), []);
    assert.equal(new Set(added.map((r) => (r.json as any).ips[0].address)).size, others.length);
    const deleted = await Promise.all(others.map((a) => cni('DEL', conf, a)));
    assert.deepEqual(deleted.filter((r) => r.code !== 0).map((r) => r.stdout), []);
    assert.doesNotMatch(tsnet('ls').stdout, new RegExp(`\\b${NET}\\b`));
  });
});
