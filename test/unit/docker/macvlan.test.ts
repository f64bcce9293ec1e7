/**
 * The macvlan socket (`-d tsnet-macvlan`): the spec translation per driver, Activate naming only the
 * NetworkDriver, the engine refusing drivers that cannot serve it, and macvlan endpoints made for an
 * engine in the host under the transfer name, deleted by that recorded name only; -p refused.
 */
import { strict as assert } from 'node:assert';
import { engineOps } from '../../../src/controller/engine';
import type { NetworkDriver } from '../../../src/drivers/driver';
import { macvlanDriver } from '../../../src/drivers/macvlan';
import { ipvlanDriver } from '../../../src/drivers/ipvlan';
import { nullDriver } from '../../../src/drivers/stackless';
import { UnsupportedError } from '../../../src/errors';
import { engineBridgeOptions } from '../../../src/index';
import type { LinkInfo, MacvlanOptions, NetlinkHandle } from '../../../src/kernel/netlink';
import type { Endpoint, Network } from '../../../src/model';
import { driverSocketPath, dockerPluginRoutes, handlePluginRequest, type PluginResponse } from '../../../plugins/docker/index';
import { networkSpec } from '../../../plugins/docker/network-driver';
import { dockerId, testPlugin, type TestPlugin } from './helpers';

const NET = dockerId('mv-net');
const EP = dockerId('mv-ep');
const KEY = '/var/run/docker/netns/feedfacecafe';
const GATEWAY = { RequestAddressType: 'com.docker.network.gateway' };
const GENERIC = { parent: 'eth9', macvlan_mode: 'bridge' };

/** Host links as the macvlan driver sees them: a parent, and the children it is asked to make (with the namespace fd each went into). */
class FakeLinks {
  readonly links = new Map<string, LinkInfo>();
  readonly created: { name: string; parent: number; netnsFd?: number; mode: string }[] = [];
  readonly deleted: string[] = [];
  private next = 20;

  constructor() {
    this.add({ name: 'eth9', kind: 'veth' });
    // The machine's own eth0: what a careless delete by a sandbox ifname would hit.
    this.add({ name: 'eth0', kind: 'veth' });
  }
  add(l: { name: string; kind?: string }): LinkInfo {
    const link: LinkInfo = { index: this.next++, name: l.name, kind: l.kind, mtu: 1500, up: true };
    this.links.set(l.name, link);
    return link;
  }
  private find(ref: string | number): LinkInfo | undefined {
    return typeof ref === 'number' ? [...this.links.values()].find((l) => l.index === ref) : this.links.get(ref);
  }
  handle(): NetlinkHandle {
    const h = {
      getLink: async (ref: string | number) => this.find(ref),
      mustGetLink: async (ref: string | number) => {
        const l = this.find(ref);
        if (!l) throw new Error(`link ${ref}: not found`);
        return l;
      },
      setUp: async () => undefined,
      createMacvlan: async (name: string, parent: number, o: MacvlanOptions) => {
        this.created.push({ name, parent, netnsFd: o.netnsFd, mode: o.mode });
        return this.add({ name, kind: 'macvlan' });
      },
      createIpvlan: async (name: string, parent: number, o: { mode: string; netnsFd?: number }) => {
        this.created.push({ name, parent, netnsFd: o.netnsFd, mode: o.mode });
        return this.add({ name, kind: 'ipvlan' });
      },
      deleteLink: async (ref: string | number) => {
        const l = this.find(ref);
        if (!l) return false;
        this.links.delete(l.name);
        this.deleted.push(l.name);
        return true;
      },
      close: () => undefined,
    };
    return h as unknown as NetlinkHandle;
  }
}

describe('docker plugin: the macvlan socket', () => {
  let p: TestPlugin;
  let links: FakeLinks;
  let driver: NetworkDriver;
  let call: (path: string, body?: unknown) => Promise<PluginResponse>;
  beforeEach(() => {
    p = testPlugin();
    links = new FakeLinks();
    driver = macvlanDriver({ host: links.handle(), config: {} });
    p.core.drivers.set('macvlan', driver);
    const routes = dockerPluginRoutes(engineOps(p.core, 'docker'), 'macvlan');
    call = (path, body) => handlePluginRequest(routes, 'POST', path, body === undefined ? '' : JSON.stringify(body));
  });
  afterEach(() => p.dispose());

  const ok = async (path: string, body?: unknown) => {
    const res = await call(path, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.Err, undefined, `${path}: ${String(res.body.Err)}`);
    return res.body;
  };
  const network = async () => (await p.core.local.list<Network>('network/')).map((e) => e.value).find((n) => n.name === `docker-${NET.slice(0, 12)}`);
  const endpoint = async () => p.core.local.get<Endpoint>(`endpoint/${(await network())!.id}/${EP}`);
  /** What dockerd does for `docker network create -d tsnet-macvlan --ipam-driver tsnet -o parent=eth9 …`: IPAM on the bridge socket, the network on this one. */
  async function createNetwork(): Promise<string> {
    const poolId = String((await p.ok('/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: '192.168.70.0/24' })).PoolID);
    const gw = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '192.168.70.1', Options: GATEWAY })).Address);
    await ok('/NetworkDriver.CreateNetwork', { NetworkID: NET, Options: { 'com.docker.network.generic': GENERIC }, IPv4Data: [{ AddressSpace: 'tsnet-local', Pool: '192.168.70.0/24', Gateway: gw }] });
    return poolId;
  }
  async function attach(poolId: string): Promise<Record<string, unknown>> {
    const addr = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId })).Address);
    await ok('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: addr, AddressIPv6: '', MacAddress: '' }, Options: {} });
    return ok('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: KEY, Options: {} });
  }

  it('networkSpec: bridge keeps the engine bridge naming; macvlan passes the -o options alone', () => {
    const req = { NetworkID: NET, Options: { 'com.docker.network.generic': GENERIC, 'com.docker.network.internal': true }, IPv4Data: [{ Pool: '192.168.70.0/24', Gateway: '192.168.70.1/24' }] };
    const ipam = [{ subnet: '192.168.70.0/24', gateway: '192.168.70.1', auxAddresses: undefined }];
    const name = `docker-${NET.slice(0, 12)}`;
    assert.deepEqual(networkSpec(req, 'macvlan'), { name, driver: 'macvlan', ipv6: false, internal: true, options: GENERIC, ipam });
    assert.deepEqual(networkSpec(req), { name, driver: 'bridge', ipv6: false, internal: true, options: { ...engineBridgeOptions(NET), ...GENERIC }, ipam });
  });

  it('the macvlan socket is the parent-derived name next to the main one', () => {
    assert.equal(driverSocketPath('/run/docker/plugins/tsnet.sock', 'macvlan'), '/run/docker/plugins/tsnet-macvlan.sock');
    assert.equal(driverSocketPath('/tmp/x/other.sock', 'macvlan'), '/tmp/x/other-macvlan.sock');
  });

  it('Plugin.Activate names the NetworkDriver only; IPAM calls are not served here', async () => {
    assert.deepEqual(await call('/Plugin.Activate'), { status: 200, body: { Implements: ['NetworkDriver'] } });
    assert.equal((await call('/IpamDriver.GetDefaultAddressSpaces', {})).status, 404);
  });

  it('CreateNetwork makes a macvlan network on the parent with the adopted pool; DeleteNetwork leaves the parent', async () => {
    const poolId = await createNetwork();
    const net = (await network())!;
    assert.equal(net.driver, 'macvlan');
    assert.deepEqual(net.options, GENERIC);
    assert.deepEqual(net.ipam, [{ poolId, subnet: '192.168.70.0/24', gateway: '192.168.70.1' }]);
    assert.equal(p.bridge.bridges.size, 0);
    await ok('/NetworkDriver.DeleteNetwork', { NetworkID: NET });
    assert.equal(await network(), undefined);
    assert.ok(links.links.has('eth9'));
    assert.deepEqual(links.deleted, []);
  });

  it('the engine refuses a driver that cannot serve engine endpoints, naming it, before anything is made or stored', async () => {
    // A driver like overlay: valid networks, but endpoints the engine cannot take (engineEndpoints false).
    const made: string[] = [];
    const real = p.bridge;
    const hostile: NetworkDriver = {
      name: 'tunnel', capabilities: real.capabilities,
      normalizeOptions: (o) => real.normalizeOptions(o),
      validateNetwork: (net) => ({ ...real.validateNetwork(net), engineEndpoints: false }),
      createNetwork: async (net) => { made.push(net.name); return {}; },
      deleteNetwork: async () => undefined,
      createEndpoint: async () => ({}),
      join: async () => ({ ifname: 'eth0' }),
      leave: async () => undefined,
      deleteEndpoint: async () => undefined,
    };
    p.core.drivers.set('tunnel', hostile);
    p.core.drivers.set('null', nullDriver());
    const engine = engineOps(p.core, 'docker');
    await assert.rejects(engine.createNetwork({ name: 'docker-tunnel', driver: 'tunnel', ipam: [{ subnet: '10.9.0.0/24' }] }),
      (err: Error) => err instanceof UnsupportedError && /the tunnel driver does not serve engine endpoints/.test(err.message));
    // host and null refuse any network that is not their predefined one.
    await assert.rejects(engine.createNetwork({ name: 'docker-nullnet', driver: 'null' }), /driver null/);
    assert.deepEqual(made, []);
    assert.deepEqual((await p.core.local.list('network/')).map((e) => e.key), []);
    assert.deepEqual((await p.core.local.list('ipam/')).map((e) => e.key), []);
  });

  it('Join makes the child in the host under the transfer name; DeleteEndpoint deletes exactly that link', async () => {
    const poolId = await createNetwork();
    const join = await attach(poolId);
    const srcName = (join.InterfaceName as { SrcName: string }).SrcName;
    assert.match(srcName, /^tsp[0-9a-f]{8}$/);
    assert.equal(join.Gateway, '192.168.70.1');
    assert.deepEqual(links.created.map((c) => [c.name, c.parent, c.mode]), [[srcName, links.links.get('eth9')!.index, 'bridge']]);
    assert.equal(typeof links.created[0].netnsFd, 'number');
    const ep = (await endpoint())!;
    assert.equal(ep.hostVeth, srcName);
    assert.equal(ep.mac, '02:42:c0:a8:46:02');
    await ok('/NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
    await ok('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual(links.deleted, [srcName]);
    assert.equal(await endpoint(), undefined);
  });

  it('DeleteEndpoint after the engine kept the child (gone with its sandbox) deletes nothing', async () => {
    const poolId = await createNetwork();
    const srcName = ((await attach(poolId)).InterfaceName as { SrcName: string }).SrcName;
    links.links.delete(srcName);
    await ok('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual(links.deleted, []);
    assert.equal(await endpoint(), undefined);
  });

  it('the driver never deletes by a sandbox ifname, nor a host link that is not its child', async () => {
    await createNetwork();
    const net = (await network())!;
    const base = { id: EP, name: 'x', networkId: net.id, sandboxId: 's', aliases: [], ports: [], created: '' } as unknown as Endpoint;
    // A sandbox endpoint: ifname eth0, no host-side name; the host's own eth0 must survive.
    await driver.deleteEndpoint(net, { ...base, ifname: 'eth0' });
    assert.ok(links.links.has('eth0'));
    // A recorded name now held by something else (a veth) is refused, not deleted.
    links.add({ name: 'tspdeadbeef', kind: 'veth' });
    await assert.rejects(driver.deleteEndpoint(net, { ...base, ifname: 'tspdeadbeef', hostVeth: 'tspdeadbeef' }), /is a veth, not the macvlan child/);
    assert.deepEqual(links.deleted, []);
  });

  it('ProgramExternalConnectivity with ports is refused (no NAT); without ports it is a no-op', async () => {
    const poolId = await createNetwork();
    await attach(poolId);
    const res = await call('/NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 8080 }] } });
    assert.match(String(res.body.Err), /port publishing and the macvlan network driver \(it has no NAT\)/);
    assert.deepEqual((await p.core.local.list('port/')).map((e) => e.key), []);
    assert.equal(p.firewall.ports.size, 0);
    await ok('/NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': [] } });
    await ok('/NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP });
  });

  it('ipvlan l3 through its own socket: Join answers no gateway and a CONNECTED default route, as Docker\'s ipvlan driver', async () => {
    const iv = ipvlanDriver({ host: links.handle(), config: {} });
    p.core.drivers.set('ipvlan', iv);
    const ivRoutes = dockerPluginRoutes(engineOps(p.core, 'docker'), 'ipvlan');
    const ivCall = async (path: string, body: unknown) => {
      const res = await handlePluginRequest(ivRoutes, 'POST', path, JSON.stringify(body));
      assert.equal(res.body.Err, undefined, `${path}: ${String(res.body.Err)}`);
      return res.body;
    };
    const poolId = String((await p.ok('/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: '10.61.0.0/24' })).PoolID);
    const gw = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '10.61.0.1', Options: GATEWAY })).Address);
    await ivCall('/NetworkDriver.CreateNetwork', { NetworkID: NET, Options: { 'com.docker.network.generic': { parent: 'eth9', ipvlan_mode: 'l3' } }, IPv4Data: [{ AddressSpace: 'tsnet-local', Pool: '10.61.0.0/24', Gateway: gw }] });
    const addr = String((await p.ok('/IpamDriver.RequestAddress', { PoolID: poolId })).Address);
    await ivCall('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: addr, AddressIPv6: '', MacAddress: '' }, Options: {} });
    const join = await ivCall('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: KEY, Options: {} });
    assert.equal(join.Gateway, undefined);
    assert.deepEqual(join.StaticRoutes, [{ Destination: '0.0.0.0/0', RouteType: 1, NextHop: '' }]);
    assert.deepEqual(links.created.map((c) => c.mode), ['l3']);
  });
});
