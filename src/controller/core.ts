/** What every controller operation works with: stores, IPAM, drivers, host netlink, config. Plus lookups. */
import * as path from 'node:path';
import type { DaemonConfig } from '../config';
import type { NetworkDriver } from '../drivers/driver';
import type { Firewall, FirewallEndpoint, FirewallNetwork } from '../firewall/firewall';
import { splitCidr } from '../kernel/addr';
import { getDriver } from '../drivers/registry';
import { NotFoundError, UnsupportedError } from '../errors';
import type { Ipam } from '../ipam/ipam';
import type { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, Sandbox, Scope } from '../model';
import { keys, type Lease, type Store, type StoreReader } from '../store/store';
import type { ClusterSettings } from './cluster';

/** Told after a change that a resident service (the resolver, later the overlay agent) must apply. */
export interface ChangeNotifier {
  /** Networks whose names or membership changed; resolves once the change is served, rejects when it could not be. */
  networksChanged(networkIds: string[]): Promise<void>;
}

/** This host in its cluster: who it is, and the lease its records in the cluster store are bound to. */
export interface ClusterContext {
  settings: ClusterSettings;
  /** The host's lease (the daemon's, re-attached by one-shot processes). */
  lease(): Promise<Lease>;
}

/** The controller's collaborators, built once per Controller. */
export interface Core {
  /** This host's store (SQLite): sandboxes, local networks and their endpoints. */
  local: Store;
  /** The cluster's store (etcd) for global-scope networks, when a cluster store is configured. */
  global?: Store;
  ipam: Ipam;
  drivers: Map<string, NetworkDriver>;
  host: NetlinkHandle;
  config: DaemonConfig;
  stateDir: string;
  firewall: Firewall;
  notifier: ChangeNotifier;
  /** Set when a cluster store is configured. */
  cluster?: ClusterContext;
  /** In a one-shot process that goes through the daemon: the cluster's global networks, read through it. */
  remoteGlobals?: () => Promise<Network[]>;
}

/** Write options for a record in store: records in the cluster store are bound to the host's lease. */
export async function ownedBy(core: Core, store: Store): Promise<{ lease?: Lease }> {
  return store === core.local || !core.cluster ? {} : { lease: await core.cluster.lease() };
}

/** Where endpoints of networks in store live: set for the cluster store (host and tunnel address). */
export function locationIn(core: Core, store: Store): Endpoint['location'] {
  return store === core.local || !core.cluster ? undefined : { host: core.cluster.settings.host, vtep: core.cluster.settings.advertise };
}

/** This host's copy of its endpoints on cluster networks, so it can publish them again after its lease expired. */
export const mirrorKey = (networkId: string, endpointId: string) => `cluster-ep/${networkId}/${endpointId}`;

/** The store a network of this scope lives in. */
export function storeFor(core: Core, scope: Scope): Store {
  if (scope === 'local') return core.local;
  if (!core.global) throw new UnsupportedError('global-scope networks need a cluster store: set cluster-store in daemon.json or pass --cluster-store to tsnet daemon');
  return core.global;
}

/** The store holding this network's record, endpoints and addresses. */
export function networkStore(core: Core, net: Network): Store {
  return storeFor(core, net.scope);
}

/** Every store, local first. */
export function stores(core: Core): Store[] {
  return core.global ? [core.local, core.global] : [core.local];
}

/** Finds a record of one kind by exact name, full id or unique id prefix (as Docker does). */
async function findByRef<T>(r: StoreReader, kind: 'network' | 'sandbox', ref: string): Promise<T | undefined> {
  const byName = await r.get<string>(`${kind}-name/${ref}`);
  const direct = await r.get<T>(`${kind}/${byName ?? ref}`);
  if (direct) return direct;
  if (/^[0-9a-f]{3,63}$/.test(ref)) {
    const hits = await r.list<T>(`${kind}/${ref}`);
    if (hits.length === 1) return hits[0].value;
  }
  return undefined;
}

/** A network record with its typed facts (records of older releases get them from their driver's upgrade). */
export function withInfo(core: Pick<Core, 'drivers'>, net: Network): Network {
  if (net.info) return net;
  const driver = core.drivers.get(net.driver);
  const upgraded = driver?.upgrade?.(net) ?? { info: driver ? driver.validateNetwork(net) : { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {} }, driverData: {} };
  return { ...net, ...upgraded };
}

/** Finds a network in one store (inside a transaction, or the store itself), or undefined. */
export async function lookupNetwork(core: Core, r: StoreReader, ref: string): Promise<Network | undefined> {
  const net = await findByRef<Network>(r, 'network', ref);
  return net && withInfo(core, net);
}

/** Finds a network by exact name, full id or unique id prefix, in this host's store then the cluster's. */
export async function findNetwork(core: Core, ref: string): Promise<Network> {
  for (const store of stores(core)) {
    const net = await lookupNetwork(core, store, ref);
    if (net) return net;
  }
  throw new NotFoundError(`network ${ref} not found`);
}

/** The network of an endpoint, by id, from whichever store holds it. */
export async function networkById(core: Core, id: string): Promise<Network | undefined> {
  for (const store of stores(core)) {
    const net = await store.get<Network>(keys.network(id));
    if (net) return withInfo(core, net);
  }
  return undefined;
}

/**
 * Every network of every store. An unreachable cluster store leaves this host's networks listed
 * (with a warning on stderr): local networks never depend on the cluster.
 */
export async function listNetworks(core: Core): Promise<Network[]> {
  const all = await Promise.all(stores(core).map((s) => s.list<Network>('network/').catch((err) => {
    if (s === core.local) throw err;
    process.stderr.write(`tsnet: warning: ${(err as Error).message}; global networks are not shown\n`);
    return [];
  })));
  return all.flat().map((n) => withInfo(core, n.value));
}

/** Finds a sandbox (always in this host's store) by exact name, full id or unique id prefix. */
export async function findSandbox(r: StoreReader, ref: string): Promise<Sandbox> {
  const sb = await findByRef<Sandbox>(r, 'sandbox', ref);
  if (!sb) throw new NotFoundError(`sandbox ${ref} not found`);
  return sb;
}

/** Endpoints of one network: a single prefix scan of its store. */
export async function networkEndpoints(r: StoreReader, networkId: string): Promise<Endpoint[]> {
  return (await r.list<Endpoint>(`endpoint/${networkId}/`)).map((e) => e.value);
}

/**
 * Endpoints of one sandbox, through the sandbox index in this host's store, in interface order.
 * `r` reads the local store (a transaction of it, or the store); endpoints of global networks are
 * read from the cluster store.
 */
export async function sandboxEndpoints(core: Core, sandboxId: string, r: StoreReader = core.local): Promise<Endpoint[]> {
  const index = await r.list<string>(`sandbox-ep/${sandboxId}/`);
  const eps = await Promise.all(index.map(async (e) => {
    const key = keys.endpoint(e.value, e.key.slice(e.key.lastIndexOf('/') + 1));
    return (await r.get<Endpoint>(key)) ?? (core.global ? await core.global.get<Endpoint>(key) : undefined);
  }));
  return eps.filter((e): e is Endpoint => !!e).sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0));
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

/** The firewall's view of a network, for networks whose driver asks for rules. */
export function firewallNetwork(net: Network): FirewallNetwork | undefined {
  const fw = net.info.firewall;
  if (!fw || !net.info.device) return undefined;
  return { id: net.id, name: net.name, bridge: net.info.device, subnets: net.ipam.map((p) => p.subnet), internal: net.internal, masquerade: fw.masquerade, icc: fw.icc };
}

/** The firewall's view of an endpoint on a network with rules. */
export function firewallEndpoint(net: Network, ep: Endpoint): FirewallEndpoint {
  const ip = (cidr?: string) => (cidr ? splitCidr(cidr).ip : undefined);
  return { id: ep.id, networkId: net.id, bridge: net.info.device!, ipv4: ip(ep.ipv4), ipv6: ip(ep.ipv6), ports: ep.ports };
}
