/** Network lifecycle: create (validate, allocate, build), delete, prune, the predefined networks and restore. */
import * as path from 'node:path';
import { conflictingClaim } from '../drivers/driver';
import { withFileLock } from '../kernel/lock';
import { DEFAULT_NETWORK_OPTION, isPredefined } from '../drivers/generic-options';
import { predefinedNetworks } from '../drivers/registry';
import { getDriver } from '../drivers/registry';
import { ConflictError, ExhaustedError, InvalidArgumentError, NotFoundError } from '../errors';
import { overlaps, splitCidr } from '../kernel/addr';
import { log } from '../log';
import type { IpamConfig, IpamPool, Network, NetworkSpec } from '../model';
import { randomHex, validateName } from '../names';
import { keys, type Lease, type Store, type StoreTxn } from '../store/store';
import { Undo } from '../undo';
import { checkConfigUnused, checkCreateSpec, claimName, configOnlyRecord, withConfigFrom } from './config-network';
import { ownerGone, transitionOwner } from './owner';
import { idsWithDevices } from './peer-source';
import { type Core, driverOf, findNetwork, firewallEndpoint, firewallNetwork, lookupNetwork, networkEndpoints, networkStore, now, storeFor, stores, withInfo } from './core';

const debug = log('tsnet:controller:network');

/** Lock file serialising network creation, restore and teardown between processes (the CNI plugin's ADDs run in parallel). */
const NETWORK_LOCK = 'cni-network.lock';
/** Creating a bridge with its firewall rules can take seconds under load. */
const NETWORK_LOCK_TIMEOUT_MS = 60_000;

/** Runs fn holding the network lock of this state directory (flock: the kernel drops it if the holder dies). */
export function withNetworkLock<T>(core: Core, fn: () => Promise<T>): Promise<T> {
  return withFileLock(path.join(core.stateDir, NETWORK_LOCK), fn, NETWORK_LOCK_TIMEOUT_MS);
}

/** Destinations of the host's routes, for the overlap check (default routes and the routes of `ownDevice` excluded). */
export async function hostRoutes(core: Core, ownDevice?: string): Promise<string[]> {
  const own = ownDevice ? (await core.host.getLink(ownDevice))?.index : undefined;
  const routes = [...(await core.host.listRoutes(4)), ...(await core.host.listRoutes(6))];
  return routes.filter((r) => own === undefined || r.oif !== own).map((r) => r.dst).filter((d): d is string => !!d && !d.endsWith('/0') && !d.startsWith('fe80:'));
}

/** Checks that no other network of this store claims the same host resources (a bridge name, a parent in another mode). */
async function checkClaims(t: StoreTxn, core: Core, net: Network): Promise<void> {
  for (const { value } of await t.list<Network>('network/')) {
    const other = withInfo(core, value);
    const key = conflictingClaim(net.info.claims, other.info.claims);
    if (key) throw new ConflictError(`${key.replace(':', ' ')}: already used by network "${other.name}" (driver ${other.driver})`);
  }
}

/** Allocates the pools a new network asks for (or default ones) inside the transaction. */
async function allocatePools(core: Core, t: StoreTxn, net: Network, configs: IpamConfig[], routes: string[], defaultPool?: string): Promise<IpamPool[]> {
  const pools: IpamPool[] = [];
  const req = (c: IpamConfig, v6: boolean) => core.ipam.requestPool(t, { owner: net.id, ownerName: net.name, v6, ...c, defaultPool: v6 ? undefined : defaultPool, global: net.scope === 'global' }, routes);
  for (const c of configs) {
    if (!c.subnet && (c.gateway || c.ipRange)) throw new InvalidArgumentError(`network ${net.name}: --gateway and --ip-range need --subnet`);
    pools.push(await req(c, c.subnet ? splitCidr(c.subnet).family === 6 : false));
  }
  const has = (fam: 4 | 6) => pools.some((p) => splitCidr(p.subnet).family === fam);
  if (!has(4)) pools.push(await req({}, false));
  if (net.ipv6 && !has(6)) pools.push(await req({}, true));
  if (!net.ipv6 && has(6)) throw new InvalidArgumentError(`network ${net.name}: an IPv6 subnet needs --ipv6`);
  return pools;
}

/** Key of one allocated id of a pool (an overlay VNI): create-if-absent makes it unique across every process and host. */
const idKey = (pool: string, id: number) => `ids/${pool}/${id}`;

/** Allocates info.idPool's ids for net: the requested ones (Conflict when taken) or the lowest free, one per subnet when count says so. */
async function allocateIds(t: StoreTxn, net: Network, pool: NonNullable<Network['info']['idPool']>): Promise<number[]> {
  const ids: number[] = [];
  // count 0: one id per IPAM pool (the overlay's VNI per subnet).
  const count = pool.count || net.ipam.length;
  if (pool.requested?.length) {
    if (pool.requested.length !== count) throw new InvalidArgumentError(`network ${net.name}: ${pool.requested.length} ${pool.name}(s) given for ${count} subnet(s); give one per subnet`);
    const withDevices = await idsWithDevices(t, pool.name);
    for (const id of pool.requested) {
      if (withDevices.has(id)) throw new ConflictError(`${pool.name} ${id} is still in use: host(s) ${withDevices.get(id)!.join(', ')} have devices on it`);
      if (!(await t.create(idKey(pool.name, id), net.id))) throw new ConflictError(`${pool.name} ${id} is already in use`);
      ids.push(id);
    }
    return ids;
  }
  // Not reused while any host still has a device on it (a host away while its network was removed).
  const taken = new Set([...(await t.list(`ids/${pool.name}/`)).map((e) => Number(e.key.slice(e.key.lastIndexOf('/') + 1))), ...(await idsWithDevices(t, pool.name)).keys()]);
  for (let id = pool.min; id <= pool.max && ids.length < count; id++) {
    if (taken.has(id)) continue;
    if (!(await t.create(idKey(pool.name, id), net.id))) continue;
    ids.push(id);
  }
  if (ids.length < count) throw new ExhaustedError(`no free ${pool.name} between ${pool.min} and ${pool.max}`);
  return ids;
}

/** A network of the other scope: a global one seen from a local create, or another member's local one seen from a global create. */
interface ForeignNetwork {
  name: string;
  subnets: string[];
  host?: string;
}

/** Key of a member's summary of its local networks in the cluster store (names and subnets, bound to its lease). */
export const localSummaryKey = (host: string) => `cluster/local/${host}`;

/**
 * The networks a new network of this scope must not collide with (name or subnet): for a global
 * network, every member's local networks (their published summaries, and this host's own); for a
 * local one on a cluster member, the global networks. Empty without a cluster store.
 */
async function foreignNetworks(core: Core, scope: Network['scope']): Promise<ForeignNetwork[]> {
  const summarize = (n: Network): ForeignNetwork => ({ name: n.name, subnets: n.ipam.map((p) => p.subnet) });
  if (!core.global) return scope === 'local' && core.remoteGlobals ? (await core.remoteGlobals()).map(summarize) : [];
  if (scope === 'local') return (await core.global.list<Network>('network/')).map((e) => summarize(e.value));
  const own = (await core.local.list<Network>('network/')).filter((e) => e.value.ipam.length).map((e) => summarize(e.value));
  const members = (await core.global.list<ForeignNetwork[]>('cluster/local/')).flatMap((e) => e.value.map((n) => ({ ...n, host: e.key.slice('cluster/local/'.length) })));
  return [...own, ...members];
}

/** Refuses a user subnet that overlaps a network of the other scope, naming it (and its host). */
function checkForeignOverlap(name: string, configs: IpamConfig[], foreign: ForeignNetwork[]): void {
  for (const c of configs) {
    if (!c.subnet) continue;
    for (const f of foreign) {
      const hit = f.subnets.find((s) => overlaps(s, c.subnet!));
      if (hit) throw new ConflictError(`network ${name}: subnet ${c.subnet} overlaps network "${f.name}" (${hit})${f.host ? ` on host ${f.host}` : ''}`);
    }
  }
}

/** Publishes this host's local networks (names, subnets) to the cluster under its lease, for the checks above on other members. */
export async function publishLocalSummary(core: Core, host: string, lease: Lease): Promise<void> {
  const nets = (await core.local.list<Network>('network/')).filter((e) => e.value.ipam.length).map((e) => ({ name: e.value.name, subnets: e.value.ipam.map((p) => p.subnet) }));
  await core.global!.txn(async (t) => t.put(localSummaryKey(host), nets, { lease }));
}

/** Whether a network of this name exists in any store (names are unique across local and global networks). */
async function nameTaken(core: Core, name: string, except: Store): Promise<boolean> {
  for (const store of stores(core)) if (store !== except && (await store.get(keys.networkName(name)))) return true;
  return false;
}

/** Creates a network: every check before the first kernel change, and nothing left behind on failure. */
export async function createNetwork(core: Core, asked: NetworkSpec, extra: { defaultPool?: string; predefined?: boolean } = {}): Promise<Network> {
  validateName('network', asked.name);
  const driverName = asked.driver ?? 'bridge';
  const driver = getDriver(core.drivers, driverName);
  checkCreateSpec(asked, driver.capabilities.scope);
  if (asked.configOnly) return createConfigOnly(core, configOnlyRecord(asked));
  const spec = await withConfigFrom(core, asked);
  const options = driver.normalizeOptions?.(spec.options ?? {}) ?? { ...(spec.options ?? {}) };
  if (!extra.predefined && options[DEFAULT_NETWORK_OPTION]) throw new InvalidArgumentError(`network ${spec.name}: option ${DEFAULT_NETWORK_OPTION} is reserved`);
  const net: Network = {
    id: randomHex(64), name: spec.name, driver: driverName, scope: driver.capabilities.scope, created: now(),
    ipv6: !!spec.ipv6, internal: !!spec.internal, options, labels: spec.labels ?? {}, ipam: [], info: { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {} }, driverData: {},
    ...(spec.ipamOptions && Object.keys(spec.ipamOptions).length ? { ipamOptions: spec.ipamOptions } : {}),
    ...(spec.attachable ? { attachable: true } : {}), ...(spec.configFrom ? { configFrom: spec.configFrom } : {}),
  };
  net.info = driver.validateNetwork(net);
  if (!driver.capabilities.needsIpam && spec.ipam?.length) throw new InvalidArgumentError(`driver ${driverName}: takes no --subnet`);
  const store = storeFor(core, net.scope);
  if (await nameTaken(core, net.name, store)) throw new ConflictError(`network with name ${net.name} already exists`);
  const foreign = await foreignNetworks(core, net.scope);
  const clash = foreign.find((f) => f.name === net.name);
  if (clash) throw new ConflictError(`network with name ${net.name} already exists${clash.host ? ` on host ${clash.host}` : ''}`);
  checkForeignOverlap(net.name, spec.ipam ?? [], foreign);
  // The other scope's subnets are taken too, so default pools never land on them.
  const routes = driver.capabilities.needsIpam ? [...(await hostRoutes(core, net.info.device)), ...foreign.flatMap((f) => f.subnets)] : [];
  await store.txn(async (t) => {
    if (!(await t.create(keys.networkName(net.name), net.id))) throw new ConflictError(`network with name ${net.name} already exists`);
    await checkClaims(t, core, net);
    if (driver.capabilities.needsIpam) net.ipam = await allocatePools(core, t, net, spec.ipam ?? [], routes, extra.defaultPool);
    if (net.info.idPool) net.ids = await allocateIds(t, net, net.info.idPool);
    t.put(keys.network(net.id), { ...net, transition: 'creating', transitionOwner: transitionOwner() });
  });
  const undo = new Undo();
  undo.push('record network', () => forgetNetwork(core, net));
  try {
    net.driverData = await driver.createNetwork(net);
    undo.push('create network', () => driver.deleteNetwork(net));
    const fw = firewallNetwork(net);
    if (fw) {
      undo.push('firewall', () => core.firewall.teardownNetwork(fw));
      await core.firewall.setupNetwork(fw);
    }
    await store.txn(async (t) => t.put(keys.network(net.id), net));
    undo.commit();
  } catch (err) {
    await undo.run();
    throw err;
  }
  debug(`created ${net.name} (${net.id.slice(0, 12)}) ${net.ipam.map((p) => p.subnet).join(' ')}`);
  return net;
}

/** Records a configuration-only network: no driver, no pools, no devices; the name is unique across stores. */
async function createConfigOnly(core: Core, net: Network): Promise<Network> {
  if (await nameTaken(core, net.name, core.local)) throw new ConflictError(`network with name ${net.name} already exists`);
  await core.local.txn(async (t) => {
    await claimName(t, net);
    t.put(keys.network(net.id), net);
  });
  return net;
}

/** Removes a network's records and frees its pools. */
async function forgetNetwork(core: Core, net: Network): Promise<void> {
  await networkStore(core, net).txn(async (t) => {
    for (const p of net.ipam) await core.ipam.releasePool(t, p.poolId);
    for (const id of net.ids ?? []) if ((await t.get(idKey(net.info.idPool!.name, id))) === net.id) await t.delete(idKey(net.info.idPool!.name, id));
    await t.delete(keys.network(net.id));
    if ((await t.get<string>(keys.networkName(net.name))) === net.id) await t.delete(keys.networkName(net.name));
  });
}

/** Deletes a network; refused while endpoints are attached (naming them) and for the predefined ones. */
export async function deleteNetwork(core: Core, ref: string, opts: { reshaping?: boolean } = {}): Promise<Network> {
  const found = await findNetwork(core, ref);
  // Only the daemon re-shaping the default bridge to a changed config removes a predefined network.
  if (isPredefined(found) && !opts.reshaping) throw new ConflictError(`network ${found.name}: ${found.name} is a pre-defined network and cannot be removed`);
  // The check and the mark are one transaction: a connect racing this delete either lands first
  // (and the delete is refused) or sees the mark (and is refused).
  const net = await networkStore(core, found).txn(async (t) => {
    const current = await lookupNetwork(core, t, found.id);
    if (!current) throw new NotFoundError(`network ${ref} not found`);
    // Another process is removing it (or still making it): one remover tears down, not two.
    if (current.transition) throw new ConflictError(`network ${current.name} is being ${current.transition === 'deleting' ? 'removed' : 'created'}`);
    await checkConfigUnused(t, current);
    const eps = await networkEndpoints(t, current.id);
    if (eps.length) throw new ConflictError(`error while removing network: network ${current.name} id ${current.id} has active endpoints (${eps.map((e) => e.name).join(', ')})`);
    t.put(keys.network(current.id), { ...current, transition: 'deleting', transitionOwner: transitionOwner() });
    return current;
  });
  try {
    // Under the lock a restore takes, so a concurrent restore never re-creates what this removes.
    await withNetworkLock(core, async () => {
      const fw = firewallNetwork(net);
      if (fw) await core.firewall.teardownNetwork(fw);
      await driverOf(core, net).deleteNetwork(net);
    });
  } catch (err) {
    // Not removed: the network stays usable (and removable again) rather than stuck "being removed".
    await networkStore(core, net).txn(async (t) => {
      const current = await t.get<Network>(keys.network(net.id));
      if (current?.transition === 'deleting') t.put(keys.network(net.id), { ...current, transition: undefined, transitionOwner: undefined });
    });
    throw err;
  }
  await forgetNetwork(core, net);
  return net;
}

/** Deletes every user-defined network without endpoints (that select allows); returns their names. */
export async function pruneNetworks(core: Core, select: (net: Network) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const store of stores(core)) {
    // Configuration networks last, once the networks configured from them are gone.
    const nets = (await store.list<Network>('network/')).map((e) => e.value).sort((a, b) => Number(!!a.configOnly) - Number(!!b.configOnly));
    for (const value of nets) {
      if (isPredefined(value) || !select(withInfo(core, value)) || (await networkEndpoints(store, value.id)).length) continue;
      if (value.configOnly && (await store.list<Network>('network/')).some((e) => e.value.configFrom === value.name)) continue;
      await deleteNetwork(core, value.id);
      removed.push(value.name);
    }
  }
  return removed;
}

/** Store key of the spec the default bridge was made from, so a restarted daemon can tell it was re-configured. */
export const BRIDGE_SHAPE_KEY = 'daemon/bridge-shape';

/**
 * The IPv4 address of the bridge daemon.json's "bridge": <name> adopts (dockerd's selectBIP), or
 * undefined when it has none; InvalidArgument naming the key when there is no such bridge.
 */
export async function adoptedBridgeAddress(core: Core): Promise<string | undefined> {
  const name = core.config.bridge;
  if (!name || name === 'none') return undefined;
  const link = await core.host.getLink(name);
  if (!link) throw new InvalidArgumentError(`daemon config: "bridge": ${name} names no device on this host; create the bridge first, or remove the key to use tsnet's own`);
  return (await core.host.listAddrs(link.index)).find((a) => a.family === 4)?.cidr;
}

/** Creates the drivers' predefined networks (bridge, host, none) when missing (the first start), racing other processes safely. */
export async function ensurePredefined(core: Core): Promise<void> {
  const needBridge = core.config.bridge !== 'none' && !(await core.local.get(keys.networkName('bridge')));
  for (const { spec, defaultPool } of predefinedNetworks(core.config, needBridge ? await adoptedBridgeAddress(core) : undefined)) {
    if (await core.local.get(keys.networkName(spec.name))) continue;
    try {
      await createNetwork(core, spec, { defaultPool, predefined: true });
      if (spec.name === 'bridge') await core.local.txn(async (t) => t.put(BRIDGE_SHAPE_KEY, JSON.stringify(spec)));
    } catch (err) {
      // Another process created it first: that is the goal reached.
      if (!(err instanceof ConflictError && (await core.local.get(keys.networkName(spec.name))))) throw err;
    }
  }
}

/** Re-creates the kernel objects of one network if the kernel lost them, with its firewall rules and published ports; true when it had to. */
export async function restoreNetwork(core: Core, net: Network): Promise<boolean> {
  const driver = driverOf(core, net);
  const data = await driver.restore?.(net);
  if (!data) return false;
  net.driverData = data;
  // Written back with the typed facts, so a record of an older release is current from now on.
  await networkStore(core, net).txn(async (t) => {
    const current = await t.get<Network>(keys.network(net.id));
    if (current && !current.transition) t.put(keys.network(net.id), { ...current, info: net.info, driverData: data });
  });
  const fw = firewallNetwork(net);
  if (!fw) return true;
  await core.firewall.setupNetwork(fw);
  for (const ep of await networkEndpoints(networkStore(core, net), net.id)) if (ep.ports.length) await core.firewall.publishPorts(firewallEndpoint(net, ep));
  return true;
}

/**
 * Re-creates the kernel objects of one network if they are gone, under the network lock and on a
 * fresh read of its record: a network being created or removed by another process (or gone) is left alone.
 */
export async function restoreIfLost(core: Core, net: Network): Promise<boolean> {
  const driver = driverOf(core, net);
  if (!driver.isLive || (await driver.isLive(net))) return true;
  return withNetworkLock(core, async () => {
    const raw = await networkStore(core, net).get<Network>(keys.network(net.id));
    if (!raw || raw.transition) return false;
    const current = withInfo(core, raw);
    if (!(await driver.isLive!(current))) await restoreNetwork(core, current);
    return driver.isLive!(current);
  });
}

/**
 * Finishes what a crashed create or delete left (a network stuck "creating" or "deleting" whose
 * process is gone): its rules and devices are removed as far as the record says, then the record,
 * name and pools are freed, under the network lock. Returns the names it reaped.
 */
export async function reapStaleTransitions(core: Core): Promise<string[]> {
  const reaped: string[] = [];
  for (const { value } of await core.local.list<Network>('network/')) {
    if (!value.transition || !ownerGone(value.transitionOwner)) continue;
    await withNetworkLock(core, async () => {
      const raw = await core.local.get<Network>(keys.network(value.id));
      if (!raw?.transition || !ownerGone(raw.transitionOwner)) return;
      const net = withInfo(core, raw);
      const fw = firewallNetwork(net);
      if (fw) await core.firewall.teardownNetwork(fw).catch((err) => debug(`reap ${net.name}: firewall: ${(err as Error).message}`));
      await driverOf(core, net).deleteNetwork(net).catch((err) => debug(`reap ${net.name}: ${(err as Error).message}`));
      await forgetNetwork(core, net);
      reaped.push(net.name);
    });
  }
  if (reaped.length) debug(`reaped networks a crashed process left half-made: ${reaped.join(', ')}`);
  return reaped;
}

/** Re-creates kernel objects of this host's recorded networks that the kernel lost (after a reboot). */
export async function restoreNetworks(core: Core): Promise<void> {
  await reapStaleTransitions(core);
  for (const { value } of await core.local.list<Network>('network/')) {
    // A network another (live) process is creating or deleting is that process's business.
    if (value.transition) continue;
    await restoreIfLost(core, withInfo(core, value));
  }
}

/** The last repair or replacement of each controller's firewall, in the order they were asked for. */
const firewallTurns = new WeakMap<Core, Promise<unknown>>();

/**
 * Runs fn after this controller's earlier firewall repairs and replacements have finished. A daemon's
 * periodic repair, the repair a command makes and a SIGHUP's firewall swap would otherwise interleave:
 * a repair that listed the rules a reload was removing re-applied them through the old firewall.
 */
export function inFirewallTurn<T>(core: Core, fn: () => Promise<T>): Promise<T> {
  const run = (firewallTurns.get(core) ?? Promise.resolve()).then(fn, fn);
  firewallTurns.set(core, run.catch(() => undefined));
  return run;
}

/**
 * Re-applies the rules of this host's networks that the kernel lost while their devices stayed
 * (`nft flush ruleset`, `iptables -F`, a firewalld reload), with their published ports; returns the
 * networks it repaired. One listing when nothing is missing. In turn with the controller's other
 * repairs and replacements (inFirewallTurn).
 */
export function reapplyFirewall(core: Core): Promise<string[]> {
  return inFirewallTurn(core, () => reapplyFirewallNow(core));
}

/** reapplyFirewall's work, for a caller already in its turn. */
export async function reapplyFirewallNow(core: Core): Promise<string[]> {
  const nets = (await core.local.list<Network>('network/')).map((e) => withInfo(core, e.value)).filter((n) => !n.transition);
  const byBridge = new Map(nets.flatMap((n) => {
    const fw = firewallNetwork(n);
    return fw ? [[fw.bridge, { net: n, fw }] as const] : [];
  }));
  const missing = await core.firewall.missing([...byBridge.values()].map((v) => v.fw));
  for (const fw of missing) {
    const { net } = byBridge.get(fw.bridge)!;
    await core.firewall.setupNetwork(fw);
    for (const ep of await networkEndpoints(core.local, net.id)) if (ep.ports.length) await core.firewall.publishPorts(firewallEndpoint(net, ep));
  }
  if (missing.length) debug(`firewall rules of ${missing.map((f) => f.name).join(', ')} were gone: re-applied`);
  return missing.map((f) => f.name);
}
