/**
 * Docker's configuration-only networks (`--config-only`): a record holding IPAM config and driver
 * options, with no driver, no devices and no allocation, that networks created `--config-from` it
 * take their configuration from (libnetwork's configOnly / configFrom).
 */
import { ConflictError, InvalidArgumentError, UnsupportedError } from '../errors';
import { splitCidr } from '../kernel/addr';
import type { Network, NetworkSpec } from '../model';
import { randomHex, validateName } from '../names';
import { keys, type StoreReader } from '../store/store';
import { type Core, findNetwork, now } from './core';

/** The IPAM driver every network uses: Docker's built-in one. */
const DEFAULT_IPAM = 'default';

/** Checks what a create asks of IPAM and scope before anything is made. */
export function checkCreateSpec(spec: NetworkSpec, driverScope: Network['scope']): void {
  if (spec.ipamDriver !== undefined && spec.ipamDriver !== DEFAULT_IPAM) throw new UnsupportedError(`--ipam-driver ${spec.ipamDriver}: only the "default" IPAM driver is available`);
  if (spec.scope !== undefined && spec.scope !== driverScope) {
    if (!['local', 'global', 'swarm'].includes(spec.scope)) throw new InvalidArgumentError(`--scope ${spec.scope}: expected local, global or swarm`);
    throw new UnsupportedError(`--scope ${spec.scope}: driver ${spec.driver ?? 'bridge'} makes ${driverScope}-scoped networks`);
  }
  if (spec.configOnly && spec.configFrom) throw new InvalidArgumentError('a configuration network cannot depend on another configuration network');
}

/** The record of a configuration-only network: what was asked, nothing allocated. */
export function configOnlyRecord(spec: NetworkSpec): Network {
  validateName('network', spec.name);
  for (const c of spec.ipam ?? []) {
    if (!c.subnet && (c.gateway || c.ipRange)) throw new InvalidArgumentError(`network ${spec.name}: --gateway and --ip-range need --subnet`);
    for (const cidr of [c.subnet, c.ipRange].filter((x): x is string => !!x)) splitCidr(cidr);
  }
  return {
    id: randomHex(64), name: spec.name, driver: 'null', scope: 'local', created: now(), ipv6: !!spec.ipv6, internal: !!spec.internal,
    options: spec.options ?? {}, labels: spec.labels ?? {}, ipam: [], ipamConfig: spec.ipam ?? [], ipamOptions: spec.ipamOptions ?? {},
    attachable: spec.attachable || undefined, configOnly: true,
    info: { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {} }, driverData: {},
  };
}

/** The spec of a --config-from create with the configuration network's IPAM config, IPv6 and options; refuses a spec that sets them itself. */
export async function withConfigFrom(core: Core, spec: NetworkSpec): Promise<NetworkSpec> {
  if (!spec.configFrom) return spec;
  if (spec.ipam?.length || spec.ipv6 || Object.keys(spec.options ?? {}).length || Object.keys(spec.ipamOptions ?? {}).length) {
    throw new InvalidArgumentError(`network ${spec.name}: user specified configurations are not supported if the network depends on a configuration network (--config-from ${spec.configFrom})`);
  }
  const cfg = await findNetwork(core, spec.configFrom);
  if (!cfg.configOnly) throw new InvalidArgumentError(`--config-from ${spec.configFrom}: not a configuration-only network`);
  return { ...spec, ipam: cfg.ipamConfig ?? [], ipv6: cfg.ipv6, options: { ...cfg.options }, ipamOptions: { ...(cfg.ipamOptions ?? {}) }, configFrom: cfg.name };
}

/** Refuses removing a configuration network that a network still takes its configuration from. */
export async function checkConfigUnused(r: StoreReader, net: Network): Promise<void> {
  if (!net.configOnly) return;
  const users = (await r.list<Network>('network/')).map((e) => e.value).filter((n) => n.configFrom === net.name);
  if (users.length) throw new ConflictError(`configuration network "${net.name}" is in use by network ${users.map((u) => u.name).join(', ')}`);
}

/** Refuses connecting to a configuration-only network. */
export function checkNotConfigOnly(net: Network): void {
  if (net.configOnly) throw new ConflictError(`network ${net.name} is a configuration-only network: sandboxes cannot be connected to it`);
}

/** Whether a name is taken in this txn's store (the configuration network's create). */
export async function claimName(t: { create(key: string, value: unknown): Promise<boolean> }, net: Network): Promise<void> {
  if (!(await t.create(keys.networkName(net.name), net.id))) throw new ConflictError(`network with name ${net.name} already exists`);
}
