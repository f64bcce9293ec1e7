/** Endpoint flow: connect a sandbox to a network (allocate, create, join) and disconnect it (leave, delete, free). */
import * as fs from 'node:fs';
import type { SandboxHandle } from '../drivers/driver';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import { macToBuffer, splitCidr } from '../kernel/addr';
import { NetlinkHandle } from '../kernel/netlink';
import { log } from '../log';
import type { Endpoint, Network, Sandbox } from '../model';
import { randomHex, validateIfname } from '../names';
import { keys, type StoreTxn } from '../store/store';
import { Undo } from '../undo';
import { type Core, driverOf, findNetwork, findSandbox, sandboxEndpoints } from './core';
import { refreshSandboxFiles } from './sandbox-files';

const debug = log('tsnet:controller:endpoint');

/** What a connect may ask for beyond the network and sandbox. */
export interface ConnectOptions {
  /** Static IPv4 address (no prefix). */
  ip?: string;
  /** Static IPv6 address (no prefix). */
  ip6?: string;
  /** Extra DNS names on this network. */
  aliases?: string[];
  /** Fixed MAC address for the sandbox interface. */
  mac?: string;
  /** Interface name inside the sandbox (CNI_IFNAME); default the first free ethN. */
  ifname?: string;
}

/** Opens the kernel handles of a sandbox's namespace; close() releases them. */
export function openSandbox(sb: Sandbox): SandboxHandle & { close(): void } {
  let nsFd: number;
  try {
    nsFd = fs.openSync(sb.key, 'r');
  } catch (err) {
    throw new NotFoundError(`sandbox ${sb.name}: network namespace ${sb.key} is gone`, { cause: err });
  }
  const netlink = NetlinkHandle.open(sb.key);
  return { key: sb.key, netlink, nsFd, close: () => { netlink.close(); fs.closeSync(nsFd); } };
}

/** The first ethN not used by the sandbox's other endpoints. */
function nextIfname(existing: Endpoint[]): string {
  const used = new Set(existing.map((e) => e.ifname));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

/** Refuses connects that Docker refuses, before anything is allocated. */
function checkConnect(net: Network, sb: Sandbox, existing: Endpoint[], opts: ConnectOptions): void {
  if (sb.mode === 'container') throw new ConflictError(`conflicting options: sandbox ${sb.name} shares the network stack of another sandbox and cannot be connected to a network`);
  if (sb.mode === 'host' || net.driver === 'host') {
    if (existing.length || sb.mode !== 'host' || net.driver !== 'host') throw new ConflictError(`sandbox ${sb.name}: container cannot be disconnected from host network or connected to host network`);
  }
  if (sb.mode === 'none' && existing.length) throw new ConflictError(`sandbox ${sb.name}: container cannot be connected to multiple networks with one of the networks in private (none) mode`);
  if (net.driver === 'null' && (existing.length || sb.mode !== 'none')) throw new ConflictError(`sandbox ${sb.name}: container cannot be connected to multiple networks with one of the networks in private (none) mode`);
  if (existing.some((e) => e.networkId === net.id)) throw new ConflictError(`endpoint with name ${sb.name} already exists in network ${net.name}`);
  if (opts.ifname !== undefined) {
    validateIfname(opts.ifname);
    if (existing.some((e) => e.ifname === opts.ifname)) throw new ConflictError(`sandbox ${sb.name}: interface ${opts.ifname} already exists`);
  }
  if (opts.mac !== undefined) macToBuffer(opts.mac);
  if (opts.ip && splitCidr(opts.ip).family !== 4) throw new InvalidArgumentError(`--ip ${opts.ip}: not an IPv4 address`);
  if (opts.ip6 && splitCidr(opts.ip6).family !== 6) throw new InvalidArgumentError(`--ip6 ${opts.ip6}: not an IPv6 address`);
  if ((opts.ip || opts.ip6) && !net.ipam.length) throw new InvalidArgumentError(`network ${net.name}: does not take static addresses`);
  if ((opts.ip || opts.ip6) && net.options['com.docker.network.bridge.default_bridge'] === 'true') throw new InvalidArgumentError(`user specified IP address is supported on user defined networks only`);
}

/** Reserves the endpoint's addresses and records it, in one transaction. */
function recordEndpoint(core: Core, t: StoreTxn, net: Network, sb: Sandbox, opts: ConnectOptions): Endpoint {
  const existing = sandboxEndpoints(t, sb.id);
  checkConnect(net, sb, existing, opts);
  const driver = driverOf(core, net);
  const ep: Endpoint = {
    id: randomHex(64), name: sb.name, networkId: net.id, sandboxId: sb.id,
    ifname: driver.capabilities.sandboxMode === 'own' ? opts.ifname ?? nextIfname(existing) : '',
    mac: opts.mac, aliases: opts.aliases ?? [], ports: [], created: new Date().toISOString(),
  };
  for (const pool of net.ipam) {
    const v6 = splitCidr(pool.subnet).family === 6;
    const cidr = core.ipam.requestAddress(t, pool.poolId, { owner: ep.id, ifname: ep.ifname, preferred: v6 ? opts.ip6 : opts.ip });
    if (v6) ep.ipv6 ??= cidr;
    else ep.ipv4 ??= cidr;
  }
  t.put(keys.endpoint(net.id, ep.id), ep);
  t.put(keys.sandboxEndpoint(sb.id, ep.id), net.id);
  return ep;
}

/** Frees the endpoint's addresses and records. */
function forgetEndpoint(core: Core, ep: Endpoint): void {
  core.store.txn((t) => {
    core.ipam.releaseOwner(t, ep.id);
    t.delete(keys.endpoint(ep.networkId, ep.id));
    t.delete(keys.sandboxEndpoint(ep.sandboxId, ep.id));
  });
}

/** Whether the sandbox still needs a default route: no other endpoint on a non-internal network provides one. */
function needsDefaultRoute(core: Core, sb: Sandbox, ep: Endpoint): boolean {
  return !sandboxEndpoints(core.store, sb.id).some((e) => e.id !== ep.id && e.ifname && !findNetwork(core.store, e.networkId).internal);
}

/** Connects sandbox to network: every step has its reverse, run if a later one fails. */
export async function connect(core: Core, netRef: string, sbRef: string, opts: ConnectOptions = {}): Promise<Endpoint> {
  const net = findNetwork(core.store, netRef);
  const sb = findSandbox(core.store, sbRef);
  const ep = core.store.txn((t) => recordEndpoint(core, t, net, sb, opts));
  const undo = new Undo();
  undo.push('record endpoint', () => forgetEndpoint(core, ep));
  const driver = driverOf(core, net);
  const handle = driver.capabilities.sandboxMode === 'own' ? openSandbox(sb) : undefined;
  try {
    if (handle) {
      const iface = await driver.createEndpoint(net, ep, handle);
      Object.assign(ep, iface);
      undo.push('create endpoint', () => driver.deleteEndpoint(net, ep));
      const isDefaultBridge = net.options['com.docker.network.bridge.default_bridge'] === 'true';
      await driver.join(net, ep, handle, { defaultRoute: needsDefaultRoute(core, sb, ep), gatewayOverride: isDefaultBridge ? core.config['default-gateway'] : undefined });
      core.store.txn((t) => t.put(keys.endpoint(net.id, ep.id), ep));
    }
    refreshSandboxFiles(core, sb);
    undo.commit();
    debug(`connected ${sb.name} to ${net.name} as ${ep.ifname} ${ep.ipv4 ?? ''} ${ep.ipv6 ?? ''}`);
    return ep;
  } catch (err) {
    await undo.run();
    throw err;
  } finally {
    handle?.close();
  }
}

/** Disconnects sandbox from network; with force, a missing endpoint or namespace is not an error. */
export async function disconnect(core: Core, netRef: string, sbRef: string, opts: { force?: boolean } = {}): Promise<Endpoint | undefined> {
  const net = findNetwork(core.store, netRef);
  const sb = findSandbox(core.store, sbRef);
  const ep = sandboxEndpoints(core.store, sb.id).find((e) => e.networkId === net.id);
  if (!ep) {
    if (opts.force) return undefined;
    throw new NotFoundError(`sandbox ${sb.name} is not connected to network ${net.name}`);
  }
  if (sb.mode === 'host' && !opts.force) throw new ConflictError(`sandbox ${sb.name}: container cannot be disconnected from host network or connected to host network`);
  await removeEndpoint(core, net, sb, ep);
  return ep;
}

/** Tears an endpoint down completely: leave, delete, free, then repair the default route if it went with it. */
export async function removeEndpoint(core: Core, net: Network, sb: Sandbox, ep: Endpoint): Promise<void> {
  const driver = driverOf(core, net);
  let handle: ReturnType<typeof openSandbox> | undefined;
  try {
    handle = ep.ifname && sb.mode === 'own' ? openSandbox(sb) : undefined;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  try {
    await driver.leave(net, ep, handle);
    await driver.deleteEndpoint(net, ep);
    forgetEndpoint(core, ep);
    if (handle) await repairDefaultRoute(core, sb, handle);
    if (core.store.get(keys.sandbox(sb.id))) refreshSandboxFiles(core, sb);
  } finally {
    handle?.close();
  }
}

/** After a leave, routes the sandbox through another network's gateway if its default route went away. */
async function repairDefaultRoute(core: Core, sb: Sandbox, handle: SandboxHandle): Promise<void> {
  if ((await handle.netlink.listRoutes(4)).some((r) => !r.dst)) return;
  for (const other of sandboxEndpoints(core.store, sb.id)) {
    const net = findNetwork(core.store, other.networkId);
    const gateway = net.ipam.find((p) => p.gateway && splitCidr(p.subnet).family === 4)?.gateway;
    if (net.internal || !gateway || !other.ifname) continue;
    const link = await handle.netlink.getLink(other.ifname);
    if (link) await handle.netlink.addRoute({ gateway, oif: link.index });
    return;
  }
}
