/** What every controller operation works with: store, IPAM, drivers, host netlink, config. Plus lookups. */
import * as path from 'node:path';
import type { DaemonConfig } from '../config';
import type { NetworkDriver } from '../drivers/driver';
import { parseBridgeOptions } from '../drivers/bridge/options';
import type { Firewall, FirewallEndpoint, FirewallNetwork } from '../firewall/firewall';
import { splitCidr } from '../kernel/addr';
import { getDriver } from '../drivers/registry';
import { NotFoundError } from '../errors';
import type { Ipam } from '../ipam/ipam';
import type { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, Sandbox } from '../model';
import { keys, type Store, type StoreTxn } from '../store/store';

/** The controller's collaborators, built once per Controller. */
export interface Core {
  store: Store;
  ipam: Ipam;
  drivers: Map<string, NetworkDriver>;
  host: NetlinkHandle;
  config: DaemonConfig;
  stateDir: string;
  firewall: Firewall;
}

type Reader = Pick<StoreTxn, 'get' | 'list'>;

/** Finds a record of one kind by exact name, full id or unique id prefix (as Docker does). */
function findByRef<T>(r: Reader, kind: 'network' | 'sandbox', ref: string): T {
  const byName = r.get<string>(`${kind}-name/${ref}`);
  const direct = r.get<T>(`${kind}/${byName ?? ref}`);
  if (direct) return direct;
  if (/^[0-9a-f]{3,63}$/.test(ref)) {
    const hits = r.list<T>(`${kind}/${ref}`);
    if (hits.length === 1) return hits[0].value;
  }
  throw new NotFoundError(`${kind} ${ref} not found`);
}

/** Finds a network by exact name, full id or unique id prefix. */
export function findNetwork(r: Reader, ref: string): Network {
  return findByRef<Network>(r, 'network', ref);
}

/** Finds a sandbox by exact name, full id or unique id prefix. */
export function findSandbox(r: Reader, ref: string): Sandbox {
  return findByRef<Sandbox>(r, 'sandbox', ref);
}

/** Endpoints of one network: a single prefix scan. */
export function networkEndpoints(r: Reader, networkId: string): Endpoint[] {
  return r.list<Endpoint>(`endpoint/${networkId}/`).map((e) => e.value);
}

/** Endpoints of one sandbox, through the sandbox index, in interface order. */
export function sandboxEndpoints(r: Reader, sandboxId: string): Endpoint[] {
  return r
    .list<string>(`sandbox-ep/${sandboxId}/`)
    .map((e) => r.get<Endpoint>(keys.endpoint(e.value, e.key.slice(e.key.lastIndexOf('/') + 1))))
    .filter((e): e is Endpoint => !!e)
    .sort((a, b) => a.created.localeCompare(b.created));
}

/** The driver of a network. */
export function driverOf(core: Core, net: Network): NetworkDriver {
  return getDriver(core.drivers, net.driver);
}

/** Directory holding a sandbox's resolv.conf, hosts and hostname files. */
export function sandboxDir(core: Core, sandboxId: string): string {
  return path.join(core.stateDir, 'sandboxes', sandboxId);
}

/** Current time as Docker prints it in inspect (RFC 3339 with nanoseconds zero-padded). */
export function now(): string {
  return new Date().toISOString().replace('Z', '000000Z');
}

/** The firewall's view of a network, for networks with a bridge (others need no rules). */
export function firewallNetwork(net: Network): FirewallNetwork | undefined {
  if (!net.driverState.bridge) return undefined;
  const cfg = parseBridgeOptions(net.id, net.options);
  return { id: net.id, name: net.name, bridge: net.driverState.bridge, subnets: net.ipam.map((p) => p.subnet), internal: net.internal, masquerade: cfg.masquerade, icc: cfg.icc };
}

/** The firewall's view of an endpoint on a bridge network. */
export function firewallEndpoint(net: Network, ep: Endpoint): FirewallEndpoint {
  const ip = (cidr?: string) => (cidr ? splitCidr(cidr).ip : undefined);
  return { id: ep.id, networkId: net.id, bridge: net.driverState.bridge, ipv4: ip(ep.ipv4), ipv6: ip(ep.ipv6), ports: ep.ports };
}
