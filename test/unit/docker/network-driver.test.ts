/** NetworkDriver calls, one behaviour per case: adoption of engine pools, endpoints, joins, ports, idempotent teardown. */
import { strict as assert } from 'node:assert';
import type { Endpoint, Network } from '../../../src/model';
import { dockerId, testPlugin, type TestPlugin } from './helpers';

const NET = dockerId('net-a');
const EP = dockerId('ep-1');
const KEY = '/var/run/docker/netns/0123456789ab';
const GATEWAY = { RequestAddressType: 'com.docker.network.gateway' };

describe('docker plugin: NetworkDriver', () => {
  let p: TestPlugin;
  beforeEach(() => (p = testPlugin()));
  afterEach(() => p.dispose());

  const network = async (id = NET) => (await p.core.local.list<Network>('network/')).map((e) => e.value).find((n) => n.name === `docker-${id.slice(0, 12)}`);
  const endpoint = async (id = EP, netId = NET) => p.core.local.get<Endpoint>(`endpoint/${(await network(netId))!.id}/${id}`);
  const keysUnder = async (prefix: string) => (await p.core.local.list(prefix)).map((e) => e.key);
  /** What dockerd does for `docker network create -d tsnet --ipam-driver tsnet --subnet …`. */
  async function createNetwork(subnet = '172.30.0.0/16', opts: Record<string, unknown> = {}, id = NET): Promise<string> {
    const poolId = String((await p.ok('/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: subnet })).PoolID);
    const gw = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId, Options: GATEWAY })).Address);
    await p.ok('/NetworkDriver.CreateNetwork', { NetworkID: id, Options: opts, IPv4Data: [{ AddressSpace: 'tsnet-local', Pool: subnet, Gateway: gw }], IPv6Data: [] });
    return poolId;
  }
  /** CreateEndpoint + Join with an address from the pool; returns the Join answer. */
  async function attach(poolId: string, ep = EP, key = KEY): Promise<Record<string, unknown>> {
    const addr = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId })).Address);
    await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: ep, Interface: { Address: addr, AddressIPv6: '', MacAddress: '' }, Options: {} });
    return p.ok('/NetworkDriver.Join', { NetworkID: NET, EndpointID: ep, SandboxKey: key, Options: {} });
  }
  const publish = (portmap: unknown[], ep = EP) =>
    p.call('/NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: ep, Options: { 'com.docker.network.portmap': portmap } });

  it('GetCapabilities: local scope, local connectivity', async () => {
    assert.deepEqual(await p.ok('/NetworkDriver.GetCapabilities'), { Scope: 'local', ConnectivityScope: 'local' });
  });

  it('CreateNetwork adopts the pool the IPAM calls reserved: same pool id, now owned by the network', async () => {
    const poolId = await createNetwork('172.30.0.0/16', { 'com.docker.network.generic': { mtu: '1400', icc: 'false' }, 'com.docker.network.enable_ipv6': false });
    const net = (await network())!;
    assert.deepEqual(net.ipam, [{ poolId, subnet: '172.30.0.0/16', gateway: '172.30.0.1' }]);
    assert.deepEqual((await p.core.local.get<{ owner: string }>(`ipam/pool/${poolId}`))!.owner, net.id);
    assert.equal(net.options['com.docker.network.driver.mtu'], '1400');
    assert.equal(net.options['com.docker.network.bridge.enable_icc'], 'false');
    assert.equal(p.firewall.networks.get('br-' + NET.slice(0, 12))!.icc, false);
    // The next endpoint address skips the adopted gateway.
    assert.equal((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId })).Address, '172.30.0.2/16');
  });

  it('CreateNetwork honours --internal, a -o bridge name and aux addresses the IPAM reserved', async () => {
    const poolId = String((await p.ok('/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: '10.50.0.0/24' })).PoolID);
    await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '10.50.0.254', Options: GATEWAY });
    await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '10.50.0.9' });
    await p.ok('/NetworkDriver.CreateNetwork', {
      NetworkID: NET, Options: { 'com.docker.network.internal': true, 'com.docker.network.generic': { 'com.docker.network.bridge.name': 'br-mine' } },
      IPv4Data: [{ AddressSpace: 'tsnet-local', Pool: '10.50.0.0/24', Gateway: '10.50.0.254/24', AuxAddresses: { router: '10.50.0.9/24', spare: '10.50.0.10/24' } }],
    });
    const net = (await network())!;
    assert.equal(net.internal, true);
    assert.equal(net.info.device, 'br-mine');
    assert.deepEqual(net.ipam[0].auxAddresses, { router: '10.50.0.9', spare: '10.50.0.10' });
    // An aux address Docker did not request first is reserved at adoption, so no endpoint gets it.
    assert.ok(await p.core.local.get(`ipam/addr/${poolId}/10.50.0.10`));
    const join = await attach(poolId);
    assert.equal(join.Gateway, undefined, 'an internal network gives no default route');
  });

  it('CreateNetwork with pools from another IPAM driver reserves them in tsnet, and endpoint addresses with them', async () => {
    await p.ok('/NetworkDriver.CreateNetwork', { NetworkID: NET, IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.60.0.0/16', Gateway: '10.60.0.1/16' }] });
    const net = (await network())!;
    assert.equal(net.ipam[0].gateway, '10.60.0.1');
    await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: '10.60.0.5/16' } });
    await p.fails('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: dockerId('ep-2'), Interface: { Address: '10.60.0.5/16' } }, 200, /10\.60\.0\.5 is already in use/);
    await p.ok('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: dockerId('ep-2'), Interface: { Address: '10.60.0.5/16' } });
  });

  it('CreateNetwork refuses a second network of the same id and subnets that overlap', async () => {
    await createNetwork('172.30.0.0/16');
    await p.fails('/NetworkDriver.CreateNetwork', { NetworkID: NET, IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.61.0.0/16' }] }, 200, /already exists/);
    await p.fails('/NetworkDriver.CreateNetwork', { NetworkID: dockerId('net-b'), IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '172.30.128.0/17' }] }, 200, /overlaps network "docker-/);
    assert.equal((await keysUnder('network/')).length, 1);
  });

  it('CreateEndpoint returns a MAC only when Docker gave none, and refuses bad or foreign addresses', async () => {
    const poolId = await createNetwork();
    const addr = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId })).Address);
    assert.deepEqual(await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: addr, MacAddress: '' } }), { Interface: { MacAddress: '02:42:ac:1e:00:02' } });
    assert.deepEqual(await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: dockerId('ep-2'), Interface: { MacAddress: '0a:00:00:00:00:01' } }), {});
    assert.equal((await endpoint(dockerId('ep-2')))!.mac, '0a:00:00:00:00:01');
    const bad: [Record<string, string>, RegExp][] = [
      [{ Address: addr }, /already exists in network/],
      [{ Address: '10.9.9.9/8' }, /not in any subnet/],
      [{ Address: '172.30.0.3' }, /not an IPv4 address with prefix length/],
      [{ Address: 'fd00::3/64' }, /not an IPv4 address/],
      [{ MacAddress: '01:00:00:00:00:01' }, /multicast/],
    ];
    for (const [iface, err] of bad) await p.fails('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: iface.Address === addr ? EP : dockerId('ep-3'), Interface: iface }, 200, err);
  });

  it('Join makes the veth pair in the host and answers its name, DstPrefix eth and the gateway', async () => {
    const join = await attach(await createNetwork());
    const ep = (await endpoint())!;
    assert.deepEqual(join, { InterfaceName: { SrcName: ep.ifname, DstPrefix: 'eth' }, Gateway: '172.30.0.1', StaticRoutes: [], DisableGatewayService: false });
    assert.match(ep.ifname, /^tsp[0-9a-f]{8}$/);
    assert.deepEqual([...p.bridge.veths.values()], [{ peer: ep.ifname, nsKey: '/proc/self/ns/net' }]);
  });

  it('Join is idempotent for one sandbox, refused for another, and finds the pair again after Leave', async () => {
    const first = await attach(await createNetwork());
    assert.deepEqual(await p.ok('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: KEY }), first);
    await p.fails('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/other' }, 200, /already joined another sandbox/);
    await p.ok('/NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual(await p.ok('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/other' }), first);
    assert.equal(p.bridge.veths.size, 1);
  });

  it('calls on unknown endpoints: lookups fail, teardown succeeds', async () => {
    await createNetwork();
    const ids = { NetworkID: NET, EndpointID: dockerId('nobody') };
    await p.fails('/NetworkDriver.Join', { ...ids, SandboxKey: KEY }, 200, /endpoint [0-9a-f]{64} not found in network docker-/);
    await p.fails('/NetworkDriver.EndpointOperInfo', ids, 200, /not found/);
    await p.fails('/NetworkDriver.ProgramExternalConnectivity', { ...ids, Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 80 }] } }, 200, /not found/);
    for (const call of ['Leave', 'DeleteEndpoint', 'RevokeExternalConnectivity']) assert.deepEqual(await p.ok(`/NetworkDriver.${call}`, ids), {});
    for (const call of ['Leave', 'DeleteEndpoint', 'RevokeExternalConnectivity']) assert.deepEqual(await p.ok(`/NetworkDriver.${call}`, { ...ids, NetworkID: dockerId('gone') }), {});
    assert.deepEqual(await p.ok('/NetworkDriver.DeleteNetwork', { NetworkID: dockerId('gone') }), {});
  });

  it('DeleteNetwork is refused while endpoints remain, and removes bridge, firewall and pool after', async () => {
    const poolId = await createNetwork();
    await attach(poolId);
    await p.fails('/NetworkDriver.DeleteNetwork', { NetworkID: NET }, 200, /has active endpoints/);
    await p.ok('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    await p.ok('/NetworkDriver.DeleteNetwork', { NetworkID: NET });
    assert.equal(await network(), undefined);
    assert.deepEqual([p.bridge.bridges.size, p.firewall.networks.size, (await keysUnder('ipam/')).length], [0, 0, 0]);
  });

  it('ProgramExternalConnectivity publishes fixed, ranged and random host ports; Revoke removes them', async () => {
    await attach(await createNetwork());
    const res = await publish([
      { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
      { Proto: 17, Port: 53, HostIP: '0.0.0.0', HostPort: 5300, HostPortEnd: 5310 },
      { Proto: 6, Port: 443, HostPort: 0, HostPortEnd: 0 },
    ]);
    assert.deepEqual(res, { status: 200, body: {} });
    const ports = (await endpoint())!.ports;
    assert.deepEqual(ports.slice(0, 2), [
      { protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080 },
      { protocol: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostPort: 5300 },
    ]);
    assert.ok(ports[2].hostPort >= 1024, `random port ${ports[2].hostPort}`);
    assert.equal(p.firewall.ports.size, 3);
    await p.ok('/NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual([(await endpoint())!.ports, p.firewall.ports.size, (await keysUnder('port/')).length], [[], 0, 0]);
  });

  it('ProgramExternalConnectivity: a taken host port fails with nothing published; before Join it is refused', async () => {
    const poolId = await createNetwork();
    await attach(poolId);
    await attach(poolId, dockerId('ep-2'), '/var/run/docker/netns/second');
    assert.equal((await publish([{ Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8080 }])).status, 200);
    const taken = await publish([{ Proto: 6, Port: 81, HostPort: 9090 }, { Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8080 }], dockerId('ep-2'));
    assert.match(String(taken.body.Err), /8080.*already allocated/);
    assert.deepEqual((await endpoint(dockerId('ep-2')))!.ports, []);
    assert.deepEqual(await keysUnder('port/'), ['port/tcp/8080/*']);
    await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: dockerId('ep-3'), Interface: { Address: '172.30.0.99/16' } });
    assert.match(String((await publish([{ Proto: 6, Port: 80, HostPort: 7070 }], dockerId('ep-3'))).body.Err), /once it joined a sandbox/);
  });

  it('ProgramExternalConnectivity again replaces the endpoint\'s ports', async () => {
    await attach(await createNetwork());
    await publish([{ Proto: 6, Port: 80, HostPort: 8080 }]);
    await publish([{ Proto: 6, Port: 80, HostPort: 8081 }]);
    assert.deepEqual((await endpoint())!.ports.map((b) => b.hostPort), [8081]);
    assert.deepEqual([...p.firewall.ports.keys()], ['tcp/*:8081']);
  });

  it('EndpointOperInfo reports MAC, ports, host veth and sandbox', async () => {
    await attach(await createNetwork());
    await publish([{ Proto: 6, Port: 80, HostPort: 8080 }]);
    const ep = (await endpoint())!;
    assert.deepEqual(await p.ok('/NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP }), { Value: {
      'com.docker.network.endpoint.macaddress': '02:42:ac:1e:00:02',
      'com.docker.network.portmap': [{ Proto: 6, IP: '172.30.0.2', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }],
      hostVeth: ep.hostVeth, sandbox: ep.sandboxId,
    } });
  });

  it('Leave unpublishes; DeleteEndpoint removes the pair and the record', async () => {
    await attach(await createNetwork());
    await publish([{ Proto: 6, Port: 80, HostPort: 8080 }]);
    await p.ok('/NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual([(await endpoint())!.sandboxId, p.firewall.ports.size, p.bridge.veths.size], ['', 0, 1]);
    await p.ok('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual([await endpoint(), p.bridge.veths.size], [undefined, 0]);
  });

  it('DeleteEndpoint keeps the record and its host ports when unpublishing fails, so a retry finishes the job', async () => {
    const poolId = await createNetwork();
    await attach(poolId);
    await publish([{ Proto: 6, Port: 80, HostPort: 8080 }]);
    p.firewall.refusing.add('unpublishPorts');
    await p.fails('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP }, 200, /delete endpoint .*unpublishPorts/);
    assert.deepEqual((await endpoint())!.ports.map((b) => b.hostPort), [8080], 'the endpoint is still recorded with its ports');
    assert.deepEqual(await keysUnder('port/'), ['port/tcp/8080/*'], 'the host port stays reserved while its rules may still be there');
    assert.deepEqual([...p.firewall.ports.keys()], ['tcp/*:8080']);
    // While reserved, the host port is nobody else's.
    await attach(poolId, dockerId('ep-2'), '/var/run/docker/netns/second');
    assert.match(String((await publish([{ Proto: 6, Port: 80, HostPort: 8080 }], dockerId('ep-2'))).body.Err), /8080.*already allocated/);
    p.firewall.refusing.delete('unpublishPorts');
    await p.ok('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    assert.equal(await endpoint(), undefined);
    assert.deepEqual([await keysUnder('port/'), [...p.firewall.ports.keys()]], [[], []]);
    assert.deepEqual([...p.bridge.veths.values()].map((v) => v.peer), [(await endpoint(dockerId('ep-2')))!.ifname], 'only the second endpoint\'s pair is left');
    assert.equal((await publish([{ Proto: 6, Port: 80, HostPort: 8080 }], dockerId('ep-2'))).status, 200);
    assert.deepEqual((await endpoint(dockerId('ep-2')))!.ports.map((b) => b.hostPort), [8080], 'the freed port can be published again');
  });

  it('a dual-stack network: v6 pool adopted, v6 address held, GatewayIPv6 in the Join answer', async () => {
    const v4 = String((await p.ok('/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: '172.30.0.0/16' })).PoolID);
    const v6 = String((await p.ok('/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: 'fd00:30::/64', V6: true })).PoolID);
    const gw6 = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: v6, Options: GATEWAY })).Address);
    assert.equal(gw6, 'fd00:30::1/64');
    await p.ok('/NetworkDriver.CreateNetwork', {
      NetworkID: NET, Options: { 'com.docker.network.enable_ipv6': true },
      IPv4Data: [{ AddressSpace: 'tsnet-local', Pool: '172.30.0.0/16', Gateway: String((await p.ok('/IpamDriver.RequestAddress', { PoolID: v4, Options: GATEWAY })).Address) }],
      IPv6Data: [{ AddressSpace: 'tsnet-local', Pool: 'fd00:30::/64', Gateway: gw6 }],
    });
    assert.deepEqual((await network())!.ipam.map((x) => [x.poolId, x.gateway]), [[v4, '172.30.0.1'], [v6, 'fd00:30::1']]);
    const addr6 = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: v6 })).Address);
    await p.ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: '172.30.0.2/16', AddressIPv6: addr6 } });
    const join = await p.ok('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: KEY });
    assert.deepEqual([join.Gateway, join.GatewayIPv6, (await endpoint())!.ipv6], ['172.30.0.1', 'fd00:30::1', 'fd00:30::2/64']);
  });

  it('discovery is acknowledged; swarm allocation is refused', async () => {
    assert.deepEqual(await p.ok('/NetworkDriver.DiscoverNew', { DiscoveryType: 1, DiscoveryData: { Address: '10.0.0.1', self: true } }), {});
    assert.deepEqual(await p.ok('/NetworkDriver.DiscoverDelete', { DiscoveryType: 1, DiscoveryData: null }), {});
    await p.fails('/NetworkDriver.FreeNetwork', { NetworkID: NET }, 200, /local-scope driver/);
  });
});
