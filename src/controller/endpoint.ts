/** Endpoint flow: connect a sandbox to a network (allocate, create, join) and disconnect it (leave, delete, free). */
import * as fs from 'node:fs';
import type { SandboxHandle } from '../drivers/driver';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import { macToBuffer, splitCidr } from '../kernel/addr';
import { NetlinkHandle } from '../kernel/netlink';
import { log } from '../log';
import { chooseHostPorts, hostIpsOverlap, parsePublish, publishAll, validateHostIp } from '../firewall/ports';
import { BridgeOption, isDefaultBridge } from '../drivers/bridge/options';
import type { Endpoint, Network, PortBinding, PortRequest, Sandbox } from '../model';
import { randomHex, validateIfname } from '../names';
import { keys, type StoreTxn } from '../store/store';
import { Undo } from '../undo';
import { type Core, driverOf, findNetwork, findSandbox, firewallEndpoint, sandboxEndpoints } from './core';
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
  /** Ports to publish, in Docker's -p syntax ("8080:80", "127.0.0.1::53/udp", "8000-8010:80-90"). */
  publish?: string[];
  /** Docker's -P: publish every --expose'd port of the sandbox on a random host port. */
  publishAll?: boolean;
  /** Ports to publish, already parsed (library users, CNI portMappings). */
  ports?: PortRequest[];
}

/** Opens the kernel handles of a sandbox's namespace; close() releases them. */
export function openSandbox(sb: Sandbox): SandboxHandle & { close(): void } {
  let nsFd: number;
  try {
    nsFd = fs.openSync(sb.key, 'r');
  } catch (err) {
    throw new NotFoundError(`sandbox ${sb.name}: network namespace ${sb.key} is gone`, { cause: err });
  }
  let netlink: NetlinkHandle;
  try {
    netlink = NetlinkHandle.open(sb.key);
  } catch (err) {
    fs.closeSync(nsFd);
    throw err;
  }
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
  if ((opts.ip || opts.ip6) && isDefaultBridge(net)) throw new InvalidArgumentError(`user specified IP address is supported on user defined networks only`);
}

/** Reserves the endpoint's addresses and records it, in one transaction. */
function recordEndpoint(core: Core, t: StoreTxn, net: Network, sb: Sandbox, opts: ConnectOptions, requests: PortRequest[]): Endpoint {
  // Another process may have removed either since they were read: decide on what the transaction sees.
  if (!t.get(keys.sandbox(sb.id))) throw new NotFoundError(`sandbox ${sb.name} not found`);
  const current = t.get<Network>(keys.network(net.id));
  if (!current) throw new NotFoundError(`network ${net.name} not found`);
  if (current.transition === 'deleting') throw new ConflictError(`network ${net.name} is being removed`);
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
  ep.ports = reservePorts(t, ep, requests);
  t.put(keys.endpoint(net.id, ep.id), ep);
  t.put(keys.sandboxEndpoint(sb.id, ep.id), net.id);
  return ep;
}

/** Chooses host ports and reserves them in the store, so two processes never publish the same one. */
export function reservePorts(t: StoreTxn, ep: Endpoint, requests: PortRequest[]): PortBinding[] {
  if (!requests.length) return [];
  const isTaken = (proto: string, hostIp: string, port: number) =>
    t.list<{ endpointId: string }>(`port/${proto}/${port}/`).some((e) => hostIpsOverlap(e.key.slice(e.key.lastIndexOf('/') + 1).replace('*', ''), hostIp));
  const bindings = chooseHostPorts(requests, isTaken);
  for (const b of bindings) t.put(keys.portBinding(b.protocol, b.hostPort, b.hostIp), { endpointId: ep.id });
  return bindings;
}

/** Parses and checks every requested port before anything is allocated. */
async function portRequests(net: Network, sb: Sandbox, opts: ConnectOptions, defaultHostIp: string): Promise<PortRequest[]> {
  const requests = [...(opts.ports ?? []), ...(opts.publish ?? []).flatMap((spec) => parsePublish(spec, defaultHostIp))];
  if (opts.publishAll) requests.push(...publishAll(sb.exposed, defaultHostIp));
  if (!requests.length) return [];
  if (sb.mode === 'container') throw new ConflictError('conflicting options: port publishing and the container type network mode');
  if (!net.driverState.bridge) throw new ConflictError(`conflicting options: port publishing and the ${net.driver} network driver`);
  for (const ip of new Set(requests.map((r) => r.hostIp))) await validateHostIp(ip);
  return requests;
}

/** Frees the endpoint's addresses and records. */
export function forgetEndpoint(core: Core, ep: Endpoint): void {
  core.store.txn((t) => {
    core.ipam.releaseOwner(t, ep.id);
    for (const b of ep.ports) t.delete(keys.portBinding(b.protocol, b.hostPort, b.hostIp));
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
  const requests = await portRequests(net, sb, opts, net.options[BridgeOption.hostBindingIpv4] ?? core.config.ip ?? '');
  const ep = core.store.txn((t) => recordEndpoint(core, t, net, sb, opts, requests));
  const undo = new Undo();
  undo.push('record endpoint', () => forgetEndpoint(core, ep));
  const driver = driverOf(core, net);
  let handle: ReturnType<typeof openSandbox> | undefined;
  try {
    if (driver.capabilities.sandboxMode === 'own') handle = openSandbox(sb);
    if (handle) {
      const iface = await driver.createEndpoint(net, ep, handle);
      Object.assign(ep, iface);
      undo.push('create endpoint', () => driver.deleteEndpoint(net, ep));
      await driver.join(net, ep, handle, { defaultRoute: needsDefaultRoute(core, sb, ep), gatewayOverride: isDefaultBridge(net) ? core.config['default-gateway'] : undefined });
      core.store.txn((t) => t.put(keys.endpoint(net.id, ep.id), ep));
    }
    if (ep.ports.length) await publish(core, net, ep, undo);
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

/** Programs the endpoint's published ports, and hairpin mode so the sandbox reaches its own ports via the host. */
export async function publish(core: Core, net: Network, ep: Endpoint, undo: Undo): Promise<void> {
  const fw = firewallEndpoint(net, ep);
  undo.push('publish ports', () => core.firewall.unpublishPorts(fw));
  await core.firewall.publishPorts(fw);
  if (ep.hostVeth) await core.host.setHairpin((await core.host.mustGetLink(ep.hostVeth)).index, true);
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
    handle = ep.ifname && (sb.mode === 'own' || sb.mode === 'none') ? openSandbox(sb) : undefined;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  try {
    if (ep.ports.length) await core.firewall.unpublishPorts(firewallEndpoint(net, ep));
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
  const candidates = sandboxEndpoints(core.store, sb.id).flatMap((other) => {
    const net = findNetwork(core.store, other.networkId);
    const gateway = net.ipam.find((p) => p.gateway && splitCidr(p.subnet).family === 4)?.gateway;
    return net.internal || !gateway || !other.ifname ? [] : [{ ifname: other.ifname, gateway }];
  });
  // No interface left to route through (the last network, or a sandbox being removed): skip the route dump.
  if (!candidates.length || (await handle.netlink.listRoutes(4)).some((r) => !r.dst)) return;
  const link = await handle.netlink.getLink(candidates[0].ifname);
  if (link) await handle.netlink.addRoute({ gateway: candidates[0].gateway, oif: link.index });
}
