/**
 * Engine-facing operations: what an engine that runs its own IPAM calls and moves interfaces into
 * its sandboxes itself needs from the core (Docker's remote network driver and IPAM plugin
 * protocol). The engine reserves pools and addresses first, then creates the network from them;
 * an endpoint's veth pair stays in the host at join, for the engine to move and address.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { ConflictError, InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors';
import { type AddrRecord, ipamKeys } from '../ipam/allocator';
import type { Ipam, PoolRecord } from '../ipam/ipam';
import { canonicalIp, ipOf, toSubnet } from '../ipam/range';
import { contains, macFromIpv4, macToBuffer, splitCidr } from '../kernel/addr';
import { HOST_NETNS } from '../kernel/netns';
import { log } from '../log';
import type { Endpoint, IpamPool, Network, NetworkSpec, PortBinding, PortRequest } from '../model';
import { randomHex } from '../names';
import { validateHostIp } from '../firewall/ports';
import { keys, type StoreTxn } from '../store/store';
import { teardownAll, Undo } from '../undo';
import { type Core, driverOf, findNetwork, firewallEndpoint, now } from './core';
import { getDriver } from '../drivers/registry';
import { gatewayOf } from '../drivers/routes';
import { forgetEndpoint, publish, reservePorts } from './endpoint';
import { createNetwork, deleteNetwork, hostRoutes } from './network';

const debug = log('tsnet:controller:engine');

/** What the engine asks of its IPAM for a new network (Docker's RequestPool). */
export interface EnginePoolRequest {
  /** CIDR; none: tsnet picks a free default pool of the family v6 says. */
  subnet?: string;
  /** Sub-range that dynamic allocation draws from; needs subnet. */
  ipRange?: string;
  v6: boolean;
}

/** Address management for an engine (Docker's IpamDriver calls), on tsnet's store-backed IPAM. */
export interface EngineIpam {
  /** Reserves a pool without a gateway: the engine asks for its gateway as an address. */
  requestPool(req: EnginePoolRequest): Promise<IpamPool>;
  /** Frees a pool no network adopted; unknown ids and adopted pools (freed with their network) are a no-op. */
  releasePool(poolId: string): Promise<void>;
  /** Reserves `address` (or the next free one; the subnet's first host for a gateway); returns it as CIDR. */
  requestAddress(poolId: string, req?: { address?: string; gateway?: boolean }): Promise<string>;
  /** Frees an address this IPAM handed out; anything else (unknown, held by a tsnet endpoint) is left alone. */
  releaseAddress(poolId: string, address: string): Promise<void>;
}

/** An endpoint as the engine creates it: its own id, and the addresses its IPAM gave. */
export interface EngineEndpointSpec {
  /** The engine's endpoint id; tsnet uses it as its own. */
  id: string;
  /** Addresses as CIDR, e.g. 172.30.0.2/16. */
  ipv4?: string;
  ipv6?: string;
  mac?: string;
}

/** What a join hands back: the host-side interface the engine moves into the sandbox, and gateways. */
export interface EngineJoinInfo {
  /** Name of the veth peer, still in the host. */
  srcName: string;
  /** Gateways for the sandbox's default routes (none on internal networks). */
  gateway?: string;
  gateway6?: string;
  /** The default route goes straight out of the interface, with no gateway (ipvlan l3/l3s). */
  onLink?: boolean;
}

/** Networks and endpoints of an engine (Docker's NetworkDriver calls); networks are found by name or id. */
export interface EngineNetworks {
  /**
   * Creates a network (spec.driver, bridge by default) from pools the engine's IPAM reserved
   * (adopted, not re-requested) or from foreign ones. Only drivers whose endpoints the engine can
   * move into its sandboxes (NetworkInfo.engineEndpoints: bridge, macvlan, ipvlan) are accepted.
   */
  createNetwork(spec: NetworkSpec): Promise<Network>;
  /** Deletes the network; one that is already gone counts as deleted (undefined). */
  deleteNetwork(ref: string): Promise<Network | undefined>;
  /** Records an endpoint with the engine's addresses; no kernel change until join. */
  createEndpoint(netRef: string, spec: EngineEndpointSpec): Promise<Endpoint>;
  /** One endpoint, or NotFound. */
  endpoint(netRef: string, endpointId: string): Promise<Endpoint>;
  /** Makes the veth pair, both ends in the host, the host end on the bridge, for the sandbox at `sandboxKey`. */
  join(netRef: string, endpointId: string, sandboxKey: string): Promise<EngineJoinInfo>;
  /** Ends the sandbox membership (the engine has moved the interface back); unknown ids count as done. */
  leave(netRef: string, endpointId: string): Promise<void>;
  /** Removes the veth pair, published ports and records; unknown ids count as done. */
  deleteEndpoint(netRef: string, endpointId: string): Promise<void>;
  /** Replaces the endpoint's published ports (host ports chosen and reserved in the store); [] unpublishes. */
  setPorts(netRef: string, endpointId: string, ports: PortRequest[]): Promise<PortBinding[]>;
}

/** Both engine contracts, as Controller.engine() returns them. */
export type EngineOps = EngineIpam & EngineNetworks;

/** Pool owners of engine pools not yet adopted by a network start with this. */
const ENGINE_OWNER = 'engine-';
const ENGINE_NAME_RE = /^[a-z][a-z0-9-]{0,15}$/;
const ENDPOINT_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** Owner of the addresses the engine's IPAM hands out of one pool. */
const addressOwner = (poolId: string) => `${ENGINE_OWNER}${poolId}`;
const isEnginePool = (r: PoolRecord) => r.owner.startsWith(ENGINE_OWNER);

/** The pool record, or NotFound. */
async function loadPool(t: StoreTxn, poolId: string): Promise<PoolRecord> {
  const rec = await t.get<PoolRecord>(ipamKeys.pool(poolId));
  if (!rec) throw new NotFoundError(`ipam pool ${poolId}: not found`);
  return rec;
}

/** The bare, canonical address of "ip" or "ip/len" (what the allocator keys addresses by). */
function bareIp(address: string): string {
  return canonicalIp(splitCidr(address).ip);
}

/** Reserves ip for owner unless the engine's IPAM already holds it; anyone else holding it is a Conflict. */
async function holdAddress(core: Core, t: StoreTxn, rec: PoolRecord, ip: string, owner: string): Promise<void> {
  const held = await t.get<AddrRecord>(ipamKeys.addr(rec.pool.poolId, ip));
  if (!held) {
    await core.ipam.requestAddress(t, rec.pool.poolId, { owner, ifname: '', preferred: ip });
  } else if (held.owner !== addressOwner(rec.pool.poolId)) {
    throw new ConflictError(`address ${ip} is already in use in network "${rec.ownerName}"`);
  }
}

/** The engine IPAM over core.ipam; name labels pools until a network adopts them. */
function engineIpam(core: Core, name: string): EngineIpam {
  return {
    async requestPool(req) {
      const routes = await hostRoutes(core);
      const owner = `${ENGINE_OWNER}${randomHex(12)}`;
      return core.local.txn((t) =>
        core.ipam.requestPool(t, { owner, ownerName: `${name} pool`, v6: req.v6, subnet: req.subnet, ipRange: req.ipRange, noGateway: true }, routes));
    },
    async releasePool(poolId) {
      await core.local.txn(async (t) => {
        const rec = await t.get<PoolRecord>(ipamKeys.pool(poolId));
        // Docker releases IPAM before it deletes the network: a pool a network adopted goes with that network.
        if (rec && isEnginePool(rec)) await core.ipam.releasePool(t, poolId);
      });
    },
    requestAddress(poolId, req = {}) {
      return core.local.txn(async (t) => {
        const rec = await loadPool(t, poolId);
        const owner = { owner: addressOwner(poolId), ifname: '' };
        if (req.address !== undefined) return core.ipam.requestAddress(t, poolId, { ...owner, preferred: req.address });
        // A gateway is the subnet's first host, as for tsnet's own networks, unless that one is taken.
        const s = toSubnet(rec.pool.subnet);
        const first = ipOf(s.family, s.base + 1n);
        if (req.gateway && !(await t.get(ipamKeys.addr(poolId, first)))) return core.ipam.requestAddress(t, poolId, { ...owner, preferred: first });
        return core.ipam.requestAddress(t, poolId, owner);
      });
    },
    async releaseAddress(poolId, address) {
      const ip = bareIp(address);
      await core.local.txn(async (t) => {
        const rec = await t.get<PoolRecord>(ipamKeys.pool(poolId));
        // An adopted pool's gateway and aux addresses stay the network's until it is deleted.
        if (!rec || (!isEnginePool(rec) && (rec.pool.gateway === ip || Object.values(rec.pool.auxAddresses ?? {}).includes(ip)))) return;
        if ((await t.get<AddrRecord>(ipamKeys.addr(poolId, ip)))?.owner === addressOwner(poolId)) await core.ipam.releaseAddress(t, poolId, ip);
      });
    },
  };
}

/**
 * An Ipam whose requestPool hands a network the engine pool of the same subnet, re-owned to the
 * network, with the gateway and aux addresses the engine reserved in it; other requests pass through.
 */
function adoptingIpam(core: Core): Ipam {
  const inner = core.ipam;
  return {
    ...inner,
    async requestPool(t, req, routes) {
      const subnet = req.subnet === undefined ? undefined : toSubnet(req.subnet).cidr;
      const rec = subnet === undefined ? undefined : (await inner.pools(t)).find((p) => p.pool.subnet === subnet && isEnginePool(p));
      if (!rec) return inner.requestPool(t, req, routes);
      const pool: IpamPool = { ...rec.pool };
      for (const given of [req.gateway, ...Object.values(req.auxAddresses ?? {})]) {
        const ip = given === undefined ? undefined : bareIp(given);
        if (ip === undefined) continue;
        if (!contains(pool.subnet, ip)) throw new InvalidArgumentError(`address ${ip} is not in subnet ${pool.subnet}`);
        await holdAddress(core, t, rec, ip, addressOwner(pool.poolId));
      }
      if (req.gateway) pool.gateway = bareIp(req.gateway);
      const aux = Object.entries(req.auxAddresses ?? {}).map(([name, ip]) => [name, bareIp(ip)]);
      if (aux.length) pool.auxAddresses = Object.fromEntries(aux);
      t.put(ipamKeys.pool(pool.poolId), { pool, owner: req.owner, ownerName: req.ownerName } satisfies PoolRecord);
      return pool;
    },
  };
}

/**
 * Creates an engine's network: the driver's typed facts are read from the spec before anything is
 * reserved or made, and a driver whose endpoints the engine cannot take (host, null, overlay) is
 * refused, naming it.
 */
async function createEngineNetwork(core: Core, spec: NetworkSpec): Promise<Network> {
  const driverName = spec.driver ?? 'bridge';
  const driver = getDriver(core.drivers, driverName);
  const options = driver.normalizeOptions?.(spec.options ?? {}) ?? { ...(spec.options ?? {}) };
  const draft: Network = {
    id: randomHex(64), name: spec.name, driver: driverName, scope: driver.capabilities.scope, created: now(),
    ipv6: !!spec.ipv6, internal: !!spec.internal, options, labels: spec.labels ?? {}, ipam: [],
    info: { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {} }, driverData: {},
  };
  if (!driver.validateNetwork(draft).engineEndpoints) {
    throw new UnsupportedError(`network ${spec.name}: the ${driverName} driver does not serve engine endpoints (an engine can use bridge, macvlan or ipvlan networks)`);
  }
  return createNetwork({ ...core, ipam: adoptingIpam(core) }, { ...spec, driver: driverName });
}

/** The value, or undefined for a NotFoundError: teardown counts a missing object as done. */
async function unlessGone<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try { return await fn(); } catch (err) { if (err instanceof NotFoundError) return undefined; throw err; }
}

/** The endpoint, or NotFound. */
async function mustFindEndpoint(core: Core, net: Network, endpointId: string): Promise<Endpoint> {
  const ep = await core.local.get<Endpoint>(keys.endpoint(net.id, endpointId));
  if (!ep) throw new NotFoundError(`endpoint ${endpointId} not found in network ${net.name}`);
  return ep;
}

/** The network and endpoint, or undefined when either is gone. */
async function findBoth(core: Core, netRef: string, endpointId: string): Promise<{ net: Network; ep: Endpoint } | undefined> {
  const net = await unlessGone(() => findNetwork(core, netRef));
  const ep = net && (await unlessGone(() => mustFindEndpoint(core, net, endpointId)));
  return net && ep && { net, ep };
}

/** Checks the engine's addresses against the network's pools; returns the pool of each. */
function addressPools(net: Network, spec: EngineEndpointSpec): [string, IpamPool][] {
  const out: [string, IpamPool][] = [];
  for (const [cidr, fam] of [[spec.ipv4, 4], [spec.ipv6, 6]] as const) {
    if (cidr === undefined) continue;
    if (!cidr.includes('/') || splitCidr(cidr).family !== fam) throw new InvalidArgumentError(`endpoint ${spec.id}: "${cidr}" is not an IPv${fam} address with prefix length`);
    const ip = bareIp(cidr);
    const pool = net.ipam.find((p) => contains(p.subnet, ip));
    if (!pool) throw new InvalidArgumentError(`endpoint ${spec.id}: address ${ip} is not in any subnet of network ${net.name}`);
    out.push([ip, pool]);
  }
  return out;
}

/** Records an engine endpoint: no sandbox yet; addresses the engine's IPAM did not give are reserved for it. */
async function createEndpoint(core: Core, engine: string, netRef: string, spec: EngineEndpointSpec): Promise<Endpoint> {
  if (!ENDPOINT_ID_RE.test(spec.id)) throw new InvalidArgumentError(`invalid endpoint id "${spec.id}"`);
  if (spec.mac !== undefined) macToBuffer(spec.mac);
  const net = await findNetwork(core, netRef);
  if (!net.info.engineEndpoints) throw new InvalidArgumentError(`network ${net.name}: the ${net.driver} driver does not serve engine endpoints`);
  const held = addressPools(net, spec);
  const ep: Endpoint = {
    id: spec.id, name: `${engine}-${spec.id.slice(0, 12)}`, networkId: net.id, sandboxId: '', ifname: '',
    mac: spec.mac ?? (spec.ipv4 ? macFromIpv4(bareIp(spec.ipv4)) : undefined), ipv4: spec.ipv4, ipv6: spec.ipv6,
    aliases: [], ports: [], created: now(),
  };
  return core.local.txn(async (t) => {
    if (!(await t.create(keys.endpoint(net.id, ep.id), ep))) throw new ConflictError(`endpoint ${ep.id} already exists in network ${net.name}`);
    for (const [ip, pool] of held) await holdAddress(core, t, await loadPool(t, pool.poolId), ip, ep.id);
    return ep;
  });
}

/**
 * Engine sandboxes get no tsnet Sandbox record: the engine owns the namespace and its resolver
 * files (tsnet's resolver must not listen in it). Endpoints name them by a hash of the key, so two
 * joins of one sandbox agree.
 */
function sandboxId(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Gateways a sandbox routes through on this network: none on internal ones, as for tsnet's own sandboxes. */
function gateways(net: Network, ep: Endpoint): { gateway?: string; gateway6?: string; onLink?: boolean } {
  if (net.internal) return {};
  // ipvlan l3/l3s: the default route goes straight out of the interface, as Docker's own driver sets it.
  if (net.info.onLinkDefaultRoute) return { onLink: true };
  return { gateway: ep.ipv4 ? gatewayOf(net, 4) : undefined, gateway6: ep.ipv6 ? gatewayOf(net, 6) : undefined };
}

/**
 * Join: the driver makes the endpoint's interface with its "sandbox" side in the host namespace,
 * for the engine to move (a veth pair on a bridge, a macvlan or ipvlan child of the parent).
 */
async function join(core: Core, netRef: string, endpointId: string, sandboxKey: string): Promise<EngineJoinInfo> {
  if (!sandboxKey.startsWith('/')) throw new InvalidArgumentError(`sandbox key "${sandboxKey}": must be an absolute path`);
  const net = await findNetwork(core, netRef);
  const before = await mustFindEndpoint(core, net, endpointId);
  const sbId = sandboxId(sandboxKey);
  if (before.sandboxId && before.sandboxId !== sbId) throw new ConflictError(`endpoint ${endpointId} already joined another sandbox`);
  if (before.hostVeth) {
    // A retried join, or a join after leave (the engine moved the peer back under its name): the pair is there.
    if (before.sandboxId !== sbId) await core.local.txn(async (t) => t.put(keys.endpoint(net.id, before.id), { ...before, sandboxId: sbId }));
    return { srcName: before.ifname, ...gateways(net, before) };
  }
  const undo = new Undo();
  const ep: Endpoint = { ...before, sandboxId: sbId, ifname: `tsp${randomHex(8)}` };
  await core.local.txn(async (t) => t.put(keys.endpoint(net.id, ep.id), ep));
  undo.push('record join', () => core.local.txn(async (t) => t.put(keys.endpoint(net.id, ep.id), before)));
  const nsFd = fs.openSync(HOST_NETNS, 'r');
  try {
    const driver = driverOf(core, net);
    Object.assign(ep, await driver.createEndpoint(net, ep, { key: HOST_NETNS, netlink: core.host, nsFd }));
    undo.push('create endpoint', () => driver.deleteEndpoint(net, ep));
    await core.local.txn(async (t) => t.put(keys.endpoint(net.id, ep.id), ep));
    undo.commit();
  } catch (err) {
    await undo.run();
    throw err;
  } finally {
    fs.closeSync(nsFd);
  }
  debug(`joined ${ep.id.slice(0, 12)} on ${net.name}: ${ep.hostVeth} / ${ep.ifname} for ${sandboxKey}`);
  return { srcName: ep.ifname, ...gateways(net, ep) };
}

/** Unpublishes the endpoint's ports and frees their host ports. */
async function unpublish(core: Core, net: Network, ep: Endpoint): Promise<void> {
  if (!ep.ports.length) return;
  await core.firewall.unpublishPorts(firewallEndpoint(net, ep));
  await forgetPorts(core, net, ep);
}

/** Frees the endpoint's reserved host ports in the store (the firewall side is the caller's). */
async function forgetPorts(core: Core, net: Network, ep: Endpoint): Promise<void> {
  await core.local.txn(async (t) => {
    for (const b of ep.ports) await t.delete(keys.portBinding(b.protocol, b.hostPort, b.hostIp));
    if (await t.get(keys.endpoint(net.id, ep.id))) t.put(keys.endpoint(net.id, ep.id), { ...ep, ports: [] });
  });
  ep.ports = [];
}

/** Leave: the engine has moved the interface back; the veth pair stays until deleteEndpoint. */
async function leave(core: Core, netRef: string, endpointId: string): Promise<void> {
  const found = await findBoth(core, netRef, endpointId);
  if (!found) return;
  await unpublish(core, found.net, found.ep);
  await core.local.txn(async (t) => {
    if (await t.get(keys.endpoint(found.net.id, found.ep.id))) t.put(keys.endpoint(found.net.id, found.ep.id), { ...found.ep, sandboxId: '' });
  });
}

/** Removes everything of the endpoint, carrying on past failures so a retry finds less to do. */
async function deleteEndpoint(core: Core, netRef: string, endpointId: string): Promise<void> {
  const found = await findBoth(core, netRef, endpointId);
  if (!found) return;
  const { net, ep } = found;
  await teardownAll(`delete endpoint ${endpointId}`, [
    () => unpublish(core, net, ep),
    () => driverOf(core, net).deleteEndpoint(net, ep),
  ]);
  // Only once the rules are gone: a record kept after a failed unpublish keeps the host port reserved, so a retry can finish.
  await forgetEndpoint(core, net, ep);
}

/** Replaces the published ports: validated first, host ports reserved in the store, then one firewall batch. */
async function setPorts(core: Core, netRef: string, endpointId: string, requests: PortRequest[]): Promise<PortBinding[]> {
  if (!requests.length) {
    // Unpublishing is teardown: an endpoint that is already gone has no ports left.
    const found = await findBoth(core, netRef, endpointId);
    if (found) await unpublish(core, found.net, found.ep);
    return [];
  }
  const net = await findNetwork(core, netRef);
  // As the CLI's -p: a driver without NAT (macvlan, ipvlan) has nothing to publish through.
  if (!net.info.publishes) throw new ConflictError(`conflicting options: port publishing and the ${net.driver} network driver (it has no NAT)`);
  const ep = await mustFindEndpoint(core, net, endpointId);
  if (!ep.hostVeth) throw new ConflictError(`endpoint ${endpointId}: ports can be published once it joined a sandbox`);
  const defaultHostIp = net.info.hostBindingIpv4 ?? core.config.ip ?? '';
  const wanted = requests.map((r) => ({ ...r, hostIp: r.hostIp || defaultHostIp }));
  for (const ip of new Set(wanted.map((r) => r.hostIp))) await validateHostIp(ip);
  await unpublish(core, net, ep);
  ep.ports = await core.local.txn(async (t) => {
    const bindings = await reservePorts(t, ep, wanted);
    t.put(keys.endpoint(net.id, ep.id), { ...ep, ports: bindings });
    return bindings;
  });
  const undo = new Undo();
  undo.push('reserve ports', () => forgetPorts(core, net, ep));
  try {
    await publish(core, net, ep, undo);
    undo.commit();
  } catch (err) {
    await undo.run();
    throw err;
  }
  return ep.ports;
}

/** The engine operations over one controller's core; engine names what it makes (endpoints, pool labels). */
export function engineOps(core: Core, engine: string): EngineOps {
  if (!ENGINE_NAME_RE.test(engine)) throw new InvalidArgumentError(`invalid engine name "${engine}"`);
  return {
    ...engineIpam(core, engine),
    createNetwork: (spec) => createEngineNetwork(core, spec),
    deleteNetwork: async (ref) => ((await unlessGone(() => findNetwork(core, ref))) ? deleteNetwork(core, ref) : undefined),
    createEndpoint: (netRef, spec) => createEndpoint(core, engine, netRef, spec),
    endpoint: async (netRef, endpointId) => mustFindEndpoint(core, await findNetwork(core, netRef), endpointId),
    join: (netRef, endpointId, sandboxKey) => join(core, netRef, endpointId, sandboxKey),
    leave: (netRef, endpointId) => leave(core, netRef, endpointId),
    deleteEndpoint: (netRef, endpointId) => deleteEndpoint(core, netRef, endpointId),
    setPorts: (netRef, endpointId, ports) => setPorts(core, netRef, endpointId, ports),
  };
}
