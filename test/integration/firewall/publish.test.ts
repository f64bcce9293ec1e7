/** Published ports on the real kernel, once per backend: every form, every client, busy ports, exact removal, full restore. */
import { strict as assert } from 'node:assert';
import { ConflictError } from '../../../src/errors';
import { createFirewall, type Firewall, type FirewallEndpoint, type FirewallNetwork } from '../../../src/firewall/firewall';
import type { PortBinding } from '../../../src/model';
import { BACKENDS, dump, hardReset, network, seedHostFirewall, unreached, unseedHostFirewall } from './harness';
import { Topology, UPLINK, type Container } from './topology';

const tcp = (containerPort: number, hostPort: number, hostIp = ''): PortBinding => ({ protocol: 'tcp', containerPort, hostIp, hostPort });

for (const backend of BACKENDS) {
  describe(`firewall published ports (${backend}, real kernel)`, function () {
    let topo: Topology;
    let fw: Firewall;
    let nets: FirewallNetwork[];
    let netA: FirewallNetwork, netB: FirewallNetwork;
    let c1: Container, c2: Container, c3: Container;

    const ep = (c: Container, net: FirewallNetwork, ports: PortBinding[]): FirewallEndpoint =>
      ({ id: `ep-${c.ns}`, networkId: net.id, bridge: net.bridge, ipv4: c.ip4, ipv6: c.ip6, ports });

    /** Network A (dual-stack: c1, c2) and network B (c3), servers on 7001 in each container. */
    async function build(): Promise<void> {
      const a = await topo.addBridge('a', '10.81.0.1/24', 'fd81::1/64');
      const b = await topo.addBridge('b', '10.82.0.1/24');
      c1 = await topo.addContainer(a, '10.81.0.2/24', '10.81.0.1', { cidr: 'fd81::2/64', gw: 'fd81::1' });
      c2 = await topo.addContainer(a, '10.81.0.3/24', '10.81.0.1', { cidr: 'fd81::3/64', gw: 'fd81::1' });
      c3 = await topo.addContainer(b, '10.82.0.2/24', '10.82.0.1');
      for (const c of [c1, c2, c3]) await topo.serve(c.ns, 7001);
      netA = network(`pa-${topo.tag}`, a, ['10.81.0.0/24', 'fd81::/64']);
      netB = network(`pb-${topo.tag}`, b, ['10.82.0.0/24']);
      for (const n of [netA, netB]) nets.push(n), await fw.setupNetwork(n);
    }

    beforeEach(async () => {
      topo = new Topology();
      fw = createFirewall({ backend });
      nets = [];
      await topo.addOutside();
    });
    afterEach(async () => {
      for (const n of nets.reverse()) await fw.teardownNetwork(n).catch(() => undefined);
      await hardReset(backend);
      await unseedHostFirewall(backend);
      await topo.cleanup();
    });

    it('reaches a published port from outside, the host, other containers and itself (hairpin)', async () => {
      await build();
      await fw.publishPorts(ep(c1, netA, [
        tcp(7001, 8080), { protocol: 'udp', containerPort: 7001, hostIp: '', hostPort: 8081 },
        tcp(7001, 8082, '127.0.0.1'), tcp(7001, 8083, UPLINK.host4), tcp(7001, 8084, UPLINK.host6),
      ]));
      const { host4, host6, out4, out6 } = UPLINK;
      // Outside: the container sees the real client.
      assert.equal(await topo.probe(topo.outside, 'tcp', host4, 8080), out4);
      assert.equal(await topo.probe(topo.outside, 'udp', host4, 8081), out4);
      assert.equal(await topo.probe(topo.outside, 'tcp', host4, 8083), out4);
      assert.equal(await topo.probe(topo.outside, 'tcp', host6, 8080), out6);
      assert.equal(await topo.probe(topo.outside, 'tcp', host6, 8084), out6);
      // A loopback binding is the host's alone; a v6 binding is not on v4; nothing by routing to the container.
      assert.ok(unreached(await topo.probe(topo.outside, 'tcp', host4, 8082, 1000)));
      assert.ok(unreached(await topo.probe(topo.outside, 'tcp', host4, 8084, 1000)));
      assert.ok(unreached(await topo.probe(topo.outside, 'tcp', c1.ip4, 7001, 1000)));
      // The host, through 127.0.0.1 (masqueraded to the bridge address) and through its own addresses.
      assert.equal(await topo.probe('', 'tcp', '127.0.0.1', 8080), '10.81.0.1');
      assert.equal(await topo.probe('', 'tcp', '127.0.0.1', 8082), '10.81.0.1');
      assert.equal(await topo.probe('', 'udp', '127.0.0.1', 8081), '10.81.0.1');
      assert.equal(await topo.probe('', 'tcp', host4, 8080), host4);
      assert.equal(await topo.probe('', 'tcp', '10.81.0.1', 8080), '10.81.0.1');
      assert.equal(await topo.probe('', 'tcp', host6, 8080), host6);
      // Another container of the network, a container of another network, and the container itself.
      assert.equal(await topo.probe(c2.ns, 'tcp', host4, 8080), '10.81.0.1');
      assert.equal(await topo.probe(c3.ns, 'tcp', host4, 8080), '10.81.0.1');
      assert.equal(await topo.probe(c1.ns, 'tcp', host4, 8080), '10.81.0.1');
      assert.equal(await topo.probe(c1.ns, 'udp', host4, 8081), '10.81.0.1');
      assert.equal(await topo.probe(c2.ns, 'tcp', host6, 8080), 'fd81::1');
    });

    it('refuses a busy host port, or one another endpoint holds, with nothing half-made', async () => {
      await build();
      await topo.serve('', 8090);
      const before = await dump(backend);
      await assert.rejects(fw.publishPorts(ep(c1, netA, [tcp(7001, 8089), tcp(7001, 8090)])),
        (e: Error) => e instanceof ConflictError && /0\.0\.0\.0:8090\/tcp failed: port is already allocated/.test(e.message));
      assert.equal(await dump(backend), before);
      assert.ok(unreached(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8089, 1000)));

      await fw.publishPorts(ep(c1, netA, [tcp(7001, 8080)]));
      const published = await dump(backend);
      await assert.rejects(fw.publishPorts(ep(c3, netB, [tcp(7001, 8085), tcp(7001, 8080, '127.0.0.1')])), /127\.0\.0\.1:8080\/tcp failed: port is already allocated/);
      assert.equal(await dump(backend), published);
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8080), UPLINK.out4);
    });

    it('refuses every address next to one address and back, lets two addresses share a port, and keeps one when the other goes', async () => {
      await build();
      const before = await dump(backend);
      const e1 = ep(c1, netA, [tcp(7001, 8090, '127.0.0.1')]);
      const e3 = ep(c3, netB, [tcp(7001, 8090, UPLINK.host4)]);
      await fw.publishPorts(e1);
      await fw.publishPorts(e3);
      const both = await dump(backend);
      await assert.rejects(fw.publishPorts(ep(c2, netA, [tcp(7001, 8090)])), /0\.0\.0\.0:8090\/tcp failed: port is already allocated/);
      await assert.rejects(fw.publishPorts(ep(c2, netA, [tcp(7001, 8091), tcp(7002, 8090, '127.0.0.1')])), /127\.0\.0\.1:8090\/tcp failed/);
      assert.equal(await dump(backend), both);
      await fw.publishPorts(e1);
      assert.equal(await dump(backend), both, 're-publishing changes nothing');
      await fw.unpublishPorts(e1);
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8090), UPLINK.out4);
      await assert.rejects(fw.publishPorts(ep(c2, netA, [tcp(7001, 8090)])), /port is already allocated/);
      await fw.unpublishPorts(e3);
      // The port is free again for every address.
      const any = ep(c2, netA, [tcp(7001, 8090)]);
      await fw.publishPorts(any);
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8090), UPLINK.out4);
      await assert.rejects(fw.publishPorts(e1), /127\.0\.0\.1:8090\/tcp failed/);
      await fw.unpublishPorts(any);
      assert.equal(await dump(backend), before);
    });

    it('removes exactly one endpoint\'s rules, and the last network restores the host\'s ruleset', async () => {
      await seedHostFirewall(backend);
      const pristine = await dump(backend);
      await build();
      const networksOnly = await dump(backend);
      const e1 = ep(c1, netA, [tcp(7001, 8080), tcp(7001, 8081, '127.0.0.1')]);
      const e3 = ep(c3, netB, [tcp(7001, 8082), { protocol: 'udp', containerPort: 7001, hostIp: '', hostPort: 8082 }]);
      await fw.publishPorts(e1);
      const withE1 = await dump(backend);
      await fw.publishPorts(e3);
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8082), UPLINK.out4);
      await fw.unpublishPorts(e3);
      await fw.unpublishPorts(e3);
      assert.equal(await dump(backend), withE1);
      assert.ok(unreached(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8082, 1000)));
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8080), UPLINK.out4);
      await fw.unpublishPorts(e1);
      assert.equal(await dump(backend), networksOnly);
      assert.ok(unreached(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8080, 1000)));
      await fw.teardownNetwork(netB);
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.out4, 7000, 1000), 'error:ECONNREFUSED');
      await fw.teardownNetwork(netA);
      await fw.teardownNetwork(netA);
      assert.equal(await dump(backend), pristine);
    });

    it('keeps an operator\'s TSNET-USER rules across full teardown, first in line again on the next setup', async () => {
      await build();
      const userRule = backend === 'nftables'
        ? ['nft', 'add', 'rule', 'inet', 'tsnet', 'TSNET-USER', 'ip', 'saddr', UPLINK.out4, 'drop']
        : ['iptables', '-A', 'TSNET-USER', '-s', `${UPLINK.out4}/32`, '-j', 'DROP'];
      await topo.sh(userRule[0], ...userRule.slice(1));
      await fw.publishPorts(ep(c1, netA, [tcp(7001, 8080)]));
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8080, 1000), 'timeout');
      for (const n of nets.splice(0).reverse()) await fw.teardownNetwork(n);
      assert.match(await dump(backend), backend === 'nftables' ? /chain TSNET-USER \{\n\s+ip saddr 198\.51\.100\.2 drop/ : /-A TSNET-USER -s 198\.51\.100\.2\/32 -j DROP/);
      nets.push(netA);
      await fw.setupNetwork(netA);
      await fw.publishPorts(ep(c1, netA, [tcp(7001, 8080)]));
      if (backend === 'iptables') assert.match(await dump(backend), /\n-A FORWARD -j TSNET-USER\n-A FORWARD -j TSNET-FORWARD\n/);
      assert.equal(await topo.probe(topo.outside, 'tcp', UPLINK.host4, 8080, 1000), 'timeout');
      assert.equal(await topo.probe(c1.ns, 'tcp', UPLINK.host4, 8080), '10.81.0.1');
    });
  });
}
