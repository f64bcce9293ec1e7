/** Network lifecycle: create (validate, allocate, build), delete, prune, the default networks and restore. */
import { BridgeOption, DEFAULT_BRIDGE_DEVICE, normalizeOptions } from '../drivers/bridge/options';
import { getDriver } from '../drivers/registry';
import { ConflictError, InvalidArgumentError, TsnetError } from '../errors';
import { canonicalSubnet, splitCidr } from '../kernel/addr';
import { log } from '../log';
import type { IpamConfig, IpamPool, Network, NetworkSpec } from '../model';
import { randomHex, validateName } from '../names';
import { keys, type StoreTxn } from '../store/store';
import { Undo } from '../undo';
import { type Core, driverOf, findNetwork, firewallEndpoint, firewallNetwork, networkEndpoints, now } from './core';

const debug = log('tsnet:controller:network');

/** Names of the networks that always exist. */
export const PREDEFINED = ['bridge', 'host', 'none'] as const;
/** Option marking the predefined networks (Docker's netlabel). */
const DEFAULT_MARK = 'com.docker.network.default';

/** Destinations of the host's routes, for the overlap check (default routes excluded). */
export async function hostRoutes(core: Core): Promise<string[]> {
  const routes = [...(await core.host.listRoutes(4)), ...(await core.host.listRoutes(6))];
  return routes.map((r) => r.dst).filter((d): d is string => !!d && !d.endsWith('/0') && !d.startsWith('fe80:'));
}

/** Checks that no other network already uses the driver's device names. */
function checkDeviceNames(t: StoreTxn, net: Network): void {
  if (!net.driverState.bridge) return;
  for (const { value: other } of t.list<Network>('network/')) {
    if (other.driverState.bridge === net.driverState.bridge) throw new ConflictError(`bridge name ${net.driverState.bridge}: already used by network "${other.name}"`);
  }
}

/** Allocates the pools a new network asks for (or default ones) inside the transaction. */
function allocatePools(core: Core, t: StoreTxn, net: Network, configs: IpamConfig[], routes: string[], defaultPool?: string): IpamPool[] {
  const pools: IpamPool[] = [];
  const req = (c: IpamConfig, v6: boolean) => core.ipam.requestPool(t, { owner: net.id, ownerName: net.name, v6, ...c, defaultPool: v6 ? undefined : defaultPool }, routes);
  for (const c of configs) {
    if (!c.subnet && (c.gateway || c.ipRange)) throw new InvalidArgumentError(`network ${net.name}: --gateway and --ip-range need --subnet`);
    pools.push(req(c, c.subnet ? splitCidr(c.subnet).family === 6 : false));
  }
  const has = (fam: 4 | 6) => pools.some((p) => splitCidr(p.subnet).family === fam);
  if (!has(4)) pools.push(req({}, false));
  if (net.ipv6 && !has(6)) pools.push(req({}, true));
  if (!net.ipv6 && has(6)) throw new InvalidArgumentError(`network ${net.name}: an IPv6 subnet needs --ipv6`);
  return pools;
}

/** Creates a network: every check before the first kernel change, and nothing left behind on failure. */
export async function createNetwork(core: Core, spec: NetworkSpec, extra: { defaultPool?: string; predefined?: boolean } = {}): Promise<Network> {
  validateName('network', spec.name);
  const driverName = spec.driver ?? 'bridge';
  const driver = getDriver(core.drivers, driverName);
  const options = normalizeOptions(spec.options ?? {});
  if (!extra.predefined && (options[DEFAULT_MARK] || options[BridgeOption.defaultBridge])) throw new InvalidArgumentError(`network ${spec.name}: option ${DEFAULT_MARK} is reserved`);
  const net: Network = {
    id: randomHex(64), name: spec.name, driver: driverName, scope: driver.capabilities.scope, created: now(),
    ipv6: !!spec.ipv6, internal: !!spec.internal, options, labels: spec.labels ?? {}, ipam: [], driverState: {},
  };
  net.driverState = driver.validateNetwork(net);
  if (!driver.capabilities.needsIpam && spec.ipam?.length) throw new InvalidArgumentError(`driver ${driverName}: takes no --subnet`);
  const routes = driver.capabilities.needsIpam ? await hostRoutes(core) : [];
  core.store.txn((t) => {
    if (!t.create(keys.networkName(net.name), net.id)) throw new ConflictError(`network with name ${net.name} already exists`);
    checkDeviceNames(t, net);
    if (driver.capabilities.needsIpam) net.ipam = allocatePools(core, t, net, spec.ipam ?? [], routes, extra.defaultPool);
    t.put(keys.network(net.id), { ...net, transition: 'creating' });
  });
  const undo = new Undo();
  undo.push('record network', () => forgetNetwork(core, net));
  try {
    await driver.createNetwork(net);
    undo.push('create network', () => driver.deleteNetwork(net));
    const fw = firewallNetwork(net);
    if (fw) {
      undo.push('firewall', () => core.firewall.teardownNetwork(fw));
      await core.firewall.setupNetwork(fw);
    }
    core.store.txn((t) => t.put(keys.network(net.id), net));
    undo.commit();
  } catch (err) {
    await undo.run();
    throw err;
  }
  debug(`created ${net.name} (${net.id.slice(0, 12)}) ${net.ipam.map((p) => p.subnet).join(' ')}`);
  return net;
}

/** Removes a network's records and frees its pools. */
function forgetNetwork(core: Core, net: Network): void {
  core.store.txn((t) => {
    for (const p of net.ipam) core.ipam.releasePool(t, p.poolId);
    t.delete(keys.network(net.id));
    if (t.get<string>(keys.networkName(net.name)) === net.id) t.delete(keys.networkName(net.name));
  });
}

/** Deletes a network; refused while endpoints are attached (naming them) and for the predefined ones. */
export async function deleteNetwork(core: Core, ref: string): Promise<Network> {
  const net = findNetwork(core.store, ref);
  if (net.options[DEFAULT_MARK] === 'true') throw new ConflictError(`network ${net.name}: ${net.name} is a pre-defined network and cannot be removed`);
  // The check and the mark are one transaction: a connect racing this delete either lands first
  // (and the delete is refused) or sees the mark (and is refused).
  core.store.txn((t) => {
    const eps = networkEndpoints(t, net.id);
    if (eps.length) throw new ConflictError(`error while removing network: network ${net.name} id ${net.id} has active endpoints (${eps.map((e) => e.name).join(', ')})`);
    t.put(keys.network(net.id), { ...net, transition: 'deleting' });
  });
  const fw = firewallNetwork(net);
  if (fw) await core.firewall.teardownNetwork(fw);
  await driverOf(core, net).deleteNetwork(net);
  forgetNetwork(core, net);
  return net;
}

/** Deletes every user-defined network without endpoints; returns their names. */
export async function pruneNetworks(core: Core): Promise<string[]> {
  const removed: string[] = [];
  for (const { value: net } of core.store.list<Network>('network/')) {
    if (net.options[DEFAULT_MARK] === 'true' || networkEndpoints(core.store, net.id).length) continue;
    await deleteNetwork(core, net.id);
    removed.push(net.name);
  }
  return removed;
}

/** Creates bridge, host and none when missing (the first start), racing other processes safely. */
export async function ensurePredefined(core: Core): Promise<void> {
  const cfg = core.config;
  const specs: Record<(typeof PREDEFINED)[number], () => [NetworkSpec, string | undefined]> = {
    bridge: () => {
      const options: Record<string, string> = { [DEFAULT_MARK]: 'true', [BridgeOption.defaultBridge]: 'true', [BridgeOption.name]: DEFAULT_BRIDGE_DEVICE, [BridgeOption.masquerade]: 'true', [BridgeOption.icc]: 'true' };
      if (cfg.mtu) options[BridgeOption.mtu] = String(cfg.mtu);
      if (cfg.ip) options[BridgeOption.hostBindingIpv4] = cfg.ip;
      const ipam = cfg.bip ? [{ subnet: canonicalSubnet(cfg.bip), gateway: splitCidr(cfg.bip).ip }] : [];
      return [{ name: 'bridge', driver: 'bridge', options, ipam }, cfg.bip ? undefined : '172.17.0.0/16'];
    },
    host: () => [{ name: 'host', driver: 'host', options: { [DEFAULT_MARK]: 'true' } }, undefined],
    none: () => [{ name: 'none', driver: 'null', options: { [DEFAULT_MARK]: 'true' } }, undefined],
  };
  for (const name of PREDEFINED) {
    if (core.store.get(keys.networkName(name))) continue;
    const [spec, defaultPool] = specs[name]();
    try {
      await createNetwork(core, spec, { defaultPool, predefined: true });
    } catch (err) {
      // Another process created it first: that is the goal reached.
      if (!(err instanceof TsnetError && err.message.startsWith('network with name'))) throw err;
    }
  }
}

/** Re-creates kernel objects of recorded networks that the kernel lost (after a reboot), with their firewall rules. */
export async function restoreNetworks(core: Core): Promise<void> {
  for (const { value: net } of core.store.list<Network>('network/')) {
    // A network another process is creating or deleting is that process's business.
    if (net.transition) continue;
    const driver = driverOf(core, net);
    if (!driver.restore || !(await driver.restore(net))) continue;
    const fw = firewallNetwork(net);
    if (!fw) continue;
    await core.firewall.setupNetwork(fw);
    for (const ep of networkEndpoints(core.store, net.id)) if (ep.ports.length) await core.firewall.publishPorts(firewallEndpoint(net, ep));
  }
}
