/** Network rules on the real kernel, once per backend: NAT out, isolation, enable_icc=false, internal. */
import { strict as assert } from 'node:assert';
import { setSysctl } from '../../../src/kernel/sysctl';
import { createFirewall, type Firewall, type FirewallNetwork } from '../../../src/firewall/firewall';
import { BACKENDS, hardReset, network } from './harness';
import { Topology, UPLINK } from './topology';

for (const backend of BACKENDS) {
  describe(`firewall networks (${backend}, real kernel)`, function () {
    let topo: Topology;
    let fw: Firewall;
    let nets: FirewallNetwork[];

    beforeEach(async () => {
      topo = new Topology();
      fw = createFirewall({ backend });
      nets = [];
      await topo.addOutside();
      await topo.serve(topo.outside, 7000);
    });
    afterEach(async () => {
      // Clean up even when the test failed midway: rules first, then the topology.
      for (const n of nets.reverse()) await fw.teardownNetwork(n).catch(() => undefined);
      await hardReset(backend);
      await topo.cleanup();
    });

    async function setup(n: FirewallNetwork): Promise<FirewallNetwork> {
      nets.push(n);
      await fw.setupNetwork(n);
      return n;
    }

    it('NAT out: the outside sees the host uplink address (v4 and v6), or the container with masquerade off', async () => {
      const a = await topo.addBridge('a', '10.81.0.1/24', 'fd81::1/64');
      const c1 = await topo.addContainer(a, '10.81.0.2/24', '10.81.0.1', { cidr: 'fd81::2/64', gw: 'fd81::1' });
      await setup(network(`na-${topo.tag}`, a, ['10.81.0.0/24', 'fd81::/64']));
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out4, 7000), UPLINK.host4);
      assert.equal(await topo.probe(c1.ns, 'udp', UPLINK.out4, 7000), UPLINK.host4);
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out6, 7000), UPLINK.host6);

      const b = await topo.addBridge('b', '10.82.0.1/24');
      const c2 = await topo.addContainer(b, '10.82.0.2/24', '10.82.0.1');
      await setup(network(`nb-${topo.tag}`, b, ['10.82.0.0/24'], { masquerade: false }));
      assert.equal(await topo.probe(c2.ns, 'tcp', UPLINK.out4, 7000), '10.82.0.2');
    });

    it('isolates two networks both ways, while each still reaches the outside', async () => {
      const a = await topo.addBridge('a', '10.81.0.1/24');
      const b = await topo.addBridge('b', '10.82.0.1/24');
      const c1 = await topo.addContainer(a, '10.81.0.2/24', '10.81.0.1');
      const c2 = await topo.addContainer(b, '10.82.0.2/24', '10.82.0.1');
      await topo.serve(c1.ns, 7001);
      await topo.serve(c2.ns, 7001);
      // Without tsnet's rules the host routes between the bridges and from the outside: the drops below are the rules' doing.
      setSysctl('net.ipv4.ip_forward', '1');
      assert.equal(await topo.probe(c1.ns, 'tcp', c2.ip4, 7001), c1.ip4);
      assert.equal(await topo.probe(topo.outside, 'tcp', c1.ip4, 7001), UPLINK.out4);
      await setup(network(`na-${topo.tag}`, a, ['10.81.0.0/24']));
      await setup(network(`nb-${topo.tag}`, b, ['10.82.0.0/24']));
      assert.equal(await topo.probe(c1.ns, 'tcp', c2.ip4, 7001, 1000), 'timeout');
      assert.equal(await topo.probe(c2.ns, 'tcp', c1.ip4, 7001, 1000), 'timeout');
      assert.equal(await topo.probe(c2.ns, 'udp', c1.ip4, 7001, 1000), 'timeout');
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out4, 7000), UPLINK.host4);
      assert.equal(await topo.probe(c2.ns, 'tcp', UPLINK.out4, 7000), UPLINK.host4);
      // The host itself is not a network: it reaches both containers.
      assert.equal(await topo.probe('', 'tcp', c1.ip4, 7001), '10.81.0.1');
      // Unsolicited traffic routed in from outside reaches no container.
      assert.equal(await topo.probe(topo.outside, 'tcp', c1.ip4, 7001, 1000), 'timeout');
    });

    it('enable_icc=false drops container to container on the same bridge; icc=true allows it', async () => {
      const a = await topo.addBridge('a', '10.81.0.1/24');
      const c1 = await topo.addContainer(a, '10.81.0.2/24', '10.81.0.1');
      const c2 = await topo.addContainer(a, '10.81.0.3/24', '10.81.0.1');
      await topo.serve(c2.ns, 7001);
      assert.equal(await topo.probe(c1.ns, 'tcp', c2.ip4, 7001), c1.ip4);
      await setup(network(`na-${topo.tag}`, a, ['10.81.0.0/24'], { icc: false }));
      assert.equal(await topo.probe(c1.ns, 'tcp', c2.ip4, 7001, 1000), 'timeout');
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out4, 7000), UPLINK.host4);

      const b = await topo.addBridge('b', '10.82.0.1/24');
      const c3 = await topo.addContainer(b, '10.82.0.2/24', '10.82.0.1');
      const c4 = await topo.addContainer(b, '10.82.0.3/24', '10.82.0.1');
      await topo.serve(c4.ns, 7001);
      await setup(network(`nb-${topo.tag}`, b, ['10.82.0.0/24']));
      assert.equal(await topo.probe(c3.ns, 'tcp', c4.ip4, 7001), c3.ip4);
    });

    it('internal: containers talk among themselves, nothing leaves or enters the bridge', async () => {
      const i = await topo.addBridge('i', '10.83.0.1/24');
      const c1 = await topo.addContainer(i, '10.83.0.2/24', '10.83.0.1');
      const c2 = await topo.addContainer(i, '10.83.0.3/24', '10.83.0.1');
      await topo.serve(c2.ns, 7001);
      const a = await topo.addBridge('a', '10.81.0.1/24');
      const c3 = await topo.addContainer(a, '10.81.0.2/24', '10.81.0.1');
      setSysctl('net.ipv4.ip_forward', '1');
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out4, 7000), c1.ip4);
      await setup(network(`ni-${topo.tag}`, i, ['10.83.0.0/24'], { internal: true }));
      await setup(network(`na-${topo.tag}`, a, ['10.81.0.0/24']));
      assert.equal(await topo.probe(c1.ns, 'tcp', c2.ip4, 7001), c1.ip4);
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out4, 7000, 1000), 'timeout');
      assert.equal(await topo.probe(c1.ns, 'udp', UPLINK.out4, 7000, 1000), 'timeout');
      assert.equal(await topo.probe(topo.outside, 'tcp', c2.ip4, 7001, 1000), 'timeout');
      assert.equal(await topo.probe(c3.ns, 'tcp', c2.ip4, 7001, 1000), 'timeout');
    });
  });
}
