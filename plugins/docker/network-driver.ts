/**
 * Docker's NetworkDriver calls (libnetwork docs/remote.md) on the controller's engine operations.
 * Docker names networks and endpoints by its own 64-hex ids: the tsnet network is `docker-<id12>`
 * (shown by `tsnet ls`), its endpoints keep Docker's ids, and its bridge is `br-<id12>` as Docker's are.
 * One socket serves one tsnet driver: bridge on `tsnet`, macvlan on `tsnet-macvlan`.
 */
import { engineBridgeOptions, type EngineOps, type IpamConfig, type NetworkSpec, splitCidr, UnsupportedError } from '../../src/index';
import type {
  CreateEndpointRequest, CreateNetworkRequest, EndpointRequest, IpamData, JoinRequest, NetworkRequest, ProgramExternalConnectivityRequest,
} from './api';
import { DEFAULT_DRIVER, DockerLabel, ENGINE_NAME, INTERFACE_PREFIX } from './constants';
import { toDockerBindings, toPortRequests } from './ports';
import { bodyless, route, type Routes } from './protocol';

/** The tsnet network name of a Docker network id. */
export function networkName(networkId: string): string {
  return `${ENGINE_NAME}-${networkId.slice(0, 12)}`;
}

/** An address Docker sends with its prefix length, without it. */
const bare = (cidr: string) => splitCidr(cidr).ip;

/** Docker's pools as tsnet IPAM configs: the gateway and aux addresses lose their prefix length. */
function ipamConfigs(data: IpamData[]): IpamConfig[] {
  return data.map((d) => {
    const aux = Object.entries(d.AuxAddresses ?? {}).map(([name, cidr]) => [name, bare(cidr)]);
    return { subnet: d.Pool, gateway: d.Gateway ? bare(d.Gateway) : undefined, auxAddresses: aux.length ? Object.fromEntries(aux) : undefined };
  });
}

/**
 * The network spec of a CreateNetwork call on the socket serving `driver`: `-o` options, --ipv6,
 * --internal and the pools. A bridge is named after Docker's network id (the driver's engine
 * naming); the user's `-o` options go on unread, so the driver alone decides what they mean (a `-o`
 * bridge name wins; macvlan reads its parent and mode).
 */
export function networkSpec(req: CreateNetworkRequest, driver: string = DEFAULT_DRIVER): NetworkSpec {
  const opts = req.Options ?? {};
  const generic = opts[DockerLabel.generic] ?? {};
  const options: Record<string, string> = driver === 'bridge' ? { ...engineBridgeOptions(req.NetworkID), ...generic } : { ...generic };
  return {
    name: networkName(req.NetworkID),
    driver,
    ipv6: opts[DockerLabel.enableIpv6] === true,
    internal: opts[DockerLabel.internal] === true,
    options,
    ipam: ipamConfigs([...(req.IPv4Data ?? []), ...(req.IPv6Data ?? [])]),
  };
}

/** The Join answer: the interface Docker moves into the sandbox and renames, and the gateways to route through. */
async function join(engine: EngineOps, req: JoinRequest): Promise<Record<string, unknown>> {
  const info = await engine.join(networkName(req.NetworkID), req.EndpointID, req.SandboxKey);
  return {
    InterfaceName: { SrcName: info.srcName, DstPrefix: INTERFACE_PREFIX },
    ...(info.gateway ? { Gateway: info.gateway } : {}),
    ...(info.gateway6 ? { GatewayIPv6: info.gateway6 } : {}),
    // Docker's CONNECTED route type (1): `default dev <iface>`, as its own ipvlan driver adds for l3/l3s.
    StaticRoutes: info.onLink ? [{ Destination: '0.0.0.0/0', RouteType: 1, NextHop: '' }] : [],
    DisableGatewayService: false,
  };
}

/** CreateEndpoint: Docker refuses a reply that changes what it supplied, so only a MAC it left empty comes back. */
async function createEndpoint(engine: EngineOps, req: CreateEndpointRequest): Promise<Record<string, unknown>> {
  const given = req.Interface ?? {};
  const ep = await engine.createEndpoint(networkName(req.NetworkID), {
    id: req.EndpointID, ipv4: given.Address || undefined, ipv6: given.AddressIPv6 || undefined, mac: given.MacAddress || undefined,
  });
  return !given.MacAddress && ep.mac ? { Interface: { MacAddress: ep.mac } } : {};
}

/** EndpointOperInfo: what tsnet knows of the endpoint, under libnetwork's keys where it has them. */
async function operInfo(engine: EngineOps, req: EndpointRequest): Promise<Record<string, unknown>> {
  const ep = await engine.endpoint(networkName(req.NetworkID), req.EndpointID);
  const ip = ep.ipv4 ? bare(ep.ipv4) : undefined;
  return {
    Value: {
      [DockerLabel.macAddress]: ep.mac ?? '',
      [DockerLabel.portMap]: toDockerBindings(ep.ports, ip),
      hostVeth: ep.hostVeth ?? '',
      sandbox: ep.sandboxId,
    },
  };
}

/** The NetworkDriver calls of the plugin; networks created through them use the tsnet `driver`. */
export function networkDriverRoutes(engine: EngineOps, driver: string = DEFAULT_DRIVER): Routes {
  const ref = (req: NetworkRequest) => networkName(req.NetworkID);
  const localOnly = () => {
    throw new UnsupportedError('tsnet is a local-scope driver: networks are not allocated cluster-wide');
  };
  return {
    '/NetworkDriver.GetCapabilities': bodyless(() => ({ Scope: 'local', ConnectivityScope: 'local' })),
    '/NetworkDriver.CreateNetwork': route<CreateNetworkRequest>('network', 'CreateNetwork', async (req) => {
      await engine.createNetwork(networkSpec(req, driver));
      return {};
    }),
    '/NetworkDriver.DeleteNetwork': route<NetworkRequest>('network', 'DeleteNetwork', async (req) => {
      await engine.deleteNetwork(ref(req));
      return {};
    }),
    '/NetworkDriver.CreateEndpoint': route<CreateEndpointRequest>('network', 'CreateEndpoint', (req) => createEndpoint(engine, req)),
    '/NetworkDriver.EndpointOperInfo': route<EndpointRequest>('network', 'EndpointOperInfo', (req) => operInfo(engine, req)),
    '/NetworkDriver.DeleteEndpoint': route<EndpointRequest>('network', 'DeleteEndpoint', async (req) => {
      await engine.deleteEndpoint(ref(req), req.EndpointID);
      return {};
    }),
    '/NetworkDriver.Join': route<JoinRequest>('network', 'Join', (req) => join(engine, req)),
    '/NetworkDriver.Leave': route<EndpointRequest>('network', 'Leave', async (req) => {
      await engine.leave(ref(req), req.EndpointID);
      return {};
    }),
    '/NetworkDriver.ProgramExternalConnectivity': route<ProgramExternalConnectivityRequest>('network', 'ProgramExternalConnectivity', async (req) => {
      await engine.setPorts(ref(req), req.EndpointID, toPortRequests(req.Options?.[DockerLabel.portMap] ?? []));
      return {};
    }),
    '/NetworkDriver.RevokeExternalConnectivity': route<EndpointRequest>('network', 'RevokeExternalConnectivity', async (req) => {
      await engine.setPorts(ref(req), req.EndpointID, []);
      return {};
    }),
    // Node discovery feeds multi-host drivers; a local bridge has nothing to learn from it.
    '/NetworkDriver.DiscoverNew': route('network', 'Discover', () => ({})),
    '/NetworkDriver.DiscoverDelete': route('network', 'Discover', () => ({})),
    '/NetworkDriver.AllocateNetwork': bodyless(localOnly),
    '/NetworkDriver.FreeNetwork': bodyless(localOnly),
  };
}
