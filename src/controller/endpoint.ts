/** Endpoint flow: connect a sandbox to a network (allocate, create, join) and disconnect it (leave, delete, free). */
import * as fs from 'node:fs';
import type { SandboxHandle } from '../drivers/driver';
import { gatewayOf } from '../drivers/routes';
import { ConflictError, InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors';
import { macToBuffer, splitCidr } from '../kernel/addr';
import { NetlinkHandle } from '../kernel/netlink';
import { log } from '../log';
import { chooseHostPorts, hostIpsOverlap, parsePublish, publishAll, validateHostIp } from '../firewall/ports';
import { NO_FIREWALL_PUBLISH } from '../firewall/firewall';
import type { Endpoint, Network, NetworkSpec, PortBinding, PortRequest, Sandbox, TransitionOwner } from '../model';
import { randomHex, validateIfname } from '../names';
import { keys, type PutOptions, type StoreReader, type StoreTxn } from '../store/store';
import { Undo } from '../undo';
import { type Core, driverOf, findNetwork, findSandbox, firewallEndpoint, locationIn, lookupNetwork, mirrorKey, networkById, networkStore, ownedBy, sandboxEndpoints, stores } from './core';
import { checkNotConfigOnly } from './config-network';
import { applyEndpointOptions, checkEndpointOptions, ENDPOINT_IFNAME } from './endpoint-options';
import { ownerGone, transitionOwner } from './owner';
import { createNetwork } from './network';
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
  /** Extra routes through this interface (CNI `routes`): via the network's gateway unless one is given. */
  routes?: { dst: string; gateway?: string }[];
  /** Hairpin mode on the host side, so the sandbox reaches itself through the host (CNI `hairpinMode`). */
  hairpin?: boolean;
  /** Extra addresses on the interface (Docker's --link-local-ip): /16 for IPv4, /64 for IPv6. */
  linkLocalIps?: string[];
  /** Endpoint options (Docker's --driver-opt): com.docker.network.endpoint.ifname and .sysctls. */
  driverOpts?: Record<string, string>;
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
function checkConnect(core: Core, net: Network, sb: Sandbox, existing: Endpoint[], opts: ConnectOptions): void {
  const netMode = driverOf(core, net).capabilities.sandboxMode;
  if (sb.mode === 'container') throw new ConflictError(`conflicting options: sandbox ${sb.name} shares the network stack of another sandbox and cannot be connected to a network`);
  if (sb.mode === 'host' || netMode === 'host') {
    if (existing.length || sb.mode !== 'host' || netMode !== 'host') throw new ConflictError(`sandbox ${sb.name}: container cannot be disconnected from host network or connected to host network`);
  }
  const privateMode = `sandbox ${sb.name}: container cannot be connected to multiple networks with one of the networks in private (none) mode`;
  if (sb.mode === 'none' && existing.length) throw new ConflictError(privateMode);
  if (netMode === 'none' && (existing.length || sb.mode !== 'none')) throw new ConflictError(privateMode);
  if (existing.some((e) => e.networkId === net.id)) throw new ConflictError(`endpoint with name ${sb.name} already exists in network ${net.name}`);
  const ifname = checkEndpointOptions(opts);
  if (ifname !== undefined) {
    validateIfname(ifname);
    if (existing.some((e) => e.ifname === ifname)) throw new ConflictError(`sandbox ${sb.name}: interface ${ifname} already exists`);
  }
  if (opts.mac !== undefined) macToBuffer(opts.mac);
  if (opts.ip && splitCidr(opts.ip).family !== 4) throw new InvalidArgumentError(`--ip ${opts.ip}: not an IPv4 address`);
  if (opts.ip6 && splitCidr(opts.ip6).family !== 6) throw new InvalidArgumentError(`--ip6 ${opts.ip6}: not an IPv6 address`);
  if ((opts.ip || opts.ip6) && !net.ipam.length) throw new InvalidArgumentError(`network ${net.name}: does not take static addresses`);
  if ((opts.ip || opts.ip6) && !net.info.staticAddresses) throw new InvalidArgumentError(`user specified IP address is supported on user defined networks only`);
}

/**
 * Which families of default route this endpoint provides: those no other endpoint of the sandbox
 * already provides. Decided inside the recording transaction, so two concurrent connects of one
 * sandbox never both add (or both skip) a family's default route.
 */
function defaultFamilies(others: Endpoint[], net: Network): { v4: boolean; v6: boolean } {
  if (net.internal || net.info.defaultRoute === false) return { v4: false, v6: false };
  const taken = { v4: others.some((e) => e.defaultRoute), v6: others.some((e) => e.defaultRoute6) };
  return { v4: !taken.v4 && !!gatewayOf(net, 4), v6: !taken.v6 && !!gatewayOf(net, 6) };
}

/** Reserves the endpoint's addresses and records it, in one transaction of the network's store (this host's, for local networks). */
async function recordEndpoint(core: Core, t: StoreTxn, net: Network, sb: Sandbox, id: string, opts: ConnectOptions, requests: PortRequest[], owner: PutOptions): Promise<Endpoint> {
  // Another process may have removed either since they were read: decide on what the transaction sees.
  const local: StoreReader = networkStore(core, net) === core.local ? t : core.local;
  if (!(await local.get(keys.sandbox(sb.id)))) throw new NotFoundError(`sandbox ${sb.name} not found`);
  const current = await lookupNetwork(core, t, net.id);
  if (!current) throw new NotFoundError(`network ${net.name} not found`);
  if (current.transition) throw new ConflictError(`network ${net.name} is being ${current.transition === 'deleting' ? 'removed' : 'created'}`);
  const existing = await sandboxEndpoints(core, sb.id, local);
  checkConnect(core, net, sb, existing, opts);
  const driver = driverOf(core, net);
  const own = driver.capabilities.sandboxMode === 'own';
  const routes = own ? defaultFamilies(existing, net) : { v4: false, v6: false };
  const ep: Endpoint = {
    id, name: sb.name, networkId: net.id, sandboxId: sb.id,
    ifname: own ? opts.driverOpts?.[ENDPOINT_IFNAME] ?? opts.ifname ?? nextIfname(existing) : '',
    mac: opts.mac, aliases: opts.aliases ?? [], ports: [], created: new Date().toISOString(),
    ...(opts.linkLocalIps?.length ? { linkLocalIps: opts.linkLocalIps } : {}), ...(opts.driverOpts && Object.keys(opts.driverOpts).length ? { driverOpts: opts.driverOpts } : {}),
    defaultRoute: routes.v4 || undefined, defaultRoute6: routes.v6 || undefined, location: locationIn(core, networkStore(core, net)),
  };
  for (const pool of net.ipam) {
    const v6 = splitCidr(pool.subnet).family === 6;
    const cidr = await core.ipam.requestAddress(t, pool.poolId, { owner: ep.id, ifname: ep.ifname, preferred: v6 ? opts.ip6 : opts.ip, lease: owner.lease });
    if (v6) ep.ipv6 ??= cidr;
    else ep.ipv4 ??= cidr;
  }
  ep.defaultRoute = (ep.defaultRoute && !!ep.ipv4) || undefined;
  ep.defaultRoute6 = (ep.defaultRoute6 && !!ep.ipv6) || undefined;
  ep.ports = await reservePorts(t, ep, requests);
  t.put(keys.endpoint(net.id, ep.id), ep, owner);
  // Until connect's last step: a process killed midway leaves this for reapStaleEndpoints.
  markChanging(t, ep, owner);
  if (local === t) t.put(keys.sandboxEndpoint(sb.id, ep.id), net.id);
  return ep;
}

/** Chooses host ports and reserves them in the store, so two processes never publish the same one. */
export async function reservePorts(t: StoreTxn, ep: Endpoint, requests: PortRequest[]): Promise<PortBinding[]> {
  if (!requests.length) return [];
  const taken = new Map<string, string[]>();
  for (const r of requests) {
    for (let port = r.hostPort; port && port <= r.hostPortEnd; port++) {
      const k = `${r.protocol}/${port}`;
      if (!taken.has(k)) taken.set(k, (await t.list(`port/${k}/`)).map((e) => e.key.slice(e.key.lastIndexOf('/') + 1).replace('*', '')));
    }
  }
  // Random ports (hostPort 0) are checked against a full listing of the protocol's reservations.
  const random = new Map<string, Set<string>>();
  for (const r of requests.filter((x) => !x.hostPort)) {
    if (random.has(r.protocol)) continue;
    const all = await t.list(`port/${r.protocol}/`);
    random.set(r.protocol, new Set(all.map((e) => e.key.slice(`port/${r.protocol}/`.length))));
  }
  const isTaken = (proto: string, hostIp: string, port: number) => {
    const ips = taken.get(`${proto}/${port}`) ?? [...(random.get(proto) ?? [])].filter((k) => k.startsWith(`${port}/`)).map((k) => k.slice(k.indexOf('/') + 1).replace('*', ''));
    return ips.some((ip) => hostIpsOverlap(ip, hostIp));
  };
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
  if (!net.info.publishes) throw new ConflictError(`conflicting options: port publishing and the ${net.driver} network driver (it has no NAT)`);
  for (const ip of new Set(requests.map((r) => r.hostIp))) await validateHostIp(ip);
  return requests;
}

/** Frees the endpoint's addresses and records. */
export async function forgetEndpoint(core: Core, net: Network, ep: Endpoint): Promise<void> {
  const store = networkStore(core, net);
  await store.txn(async (t) => {
    await core.ipam.releaseOwner(t, ep.id);
    for (const b of ep.ports) await t.delete(keys.portBinding(b.protocol, b.hostPort, b.hostIp));
    await t.delete(keys.endpoint(ep.networkId, ep.id));
    await t.delete(keys.changing(ep.networkId, ep.id));
    if (store === core.local) await t.delete(keys.sandboxEndpoint(ep.sandboxId, ep.id));
  });
  if (store !== core.local) {
    await core.local.txn(async (t) => {
      await t.delete(keys.sandboxEndpoint(ep.sandboxId, ep.id));
      await t.delete(mirrorKey(ep.networkId, ep.id));
    });
  }
}

/** What keys.changing holds: the process connecting or removing the endpoint, and for the cluster store its host. */
interface ChangeMark extends TransitionOwner {
  host?: string;
}

/** Marks ep as being changed by this process: if it dies before the last step, reapStaleEndpoints removes the endpoint. */
function markChanging(t: StoreTxn, ep: Endpoint, owner: PutOptions): void {
  t.put(keys.changing(ep.networkId, ep.id), { ...transitionOwner(), host: ep.location?.host } satisfies ChangeMark, owner);
}

/**
 * Connect's last step: writes the endpoint back after the kernel work and clears its changing
 * mark, only if no disconnect or sandbox rm removed it meanwhile.
 */
async function completeEndpoint(core: Core, net: Network, ep: Endpoint): Promise<void> {
  const store = networkStore(core, net);
  const owner = await ownedBy(core, store);
  await store.txn(async (t) => {
    if (!(await t.get(keys.endpoint(net.id, ep.id)))) throw new ConflictError(`endpoint of ${ep.name} on network ${net.name} was removed while being connected`);
    t.put(keys.endpoint(net.id, ep.id), ep, owner);
    await t.delete(keys.changing(net.id, ep.id));
  });
  if (store !== core.local) await core.local.txn(async (t) => t.put(mirrorKey(net.id, ep.id), ep));
}

/** Connects sandbox to network: every step has its reverse, run if a later one fails. */
export async function connect(core: Core, netRef: string, sbRef: string, opts: ConnectOptions = {}): Promise<Endpoint> {
  const net = await findNetwork(core, netRef);
  checkNotConfigOnly(net);
  const sb = await findSandbox(core.local, sbRef);
  // With an egress network, ports are published there: this network's endpoint carries none.
  // An internal network has no way out, so its sandboxes join no egress network (Docker's --internal overlay).
  const egress = net.internal ? undefined : net.info.egress;
  const requests = egress ? [] : await portRequests(net, sb, opts, net.info.hostBindingIpv4 ?? core.config.ip ?? '');
  if (requests.length && core.firewall.backend === 'none') throw new UnsupportedError(NO_FIREWALL_PUBLISH);
  const id = randomHex(64);
  const store = networkStore(core, net);
  const owner = await ownedBy(core, store);
  const ep = await store.txn((t) => recordEndpoint(core, t, net, sb, id, opts, requests, owner));
  const undo = new Undo();
  undo.push('record endpoint', () => forgetEndpoint(core, net, ep));
  if (store !== core.local) {
    await core.local.txn(async (t) => {
      t.put(keys.sandboxEndpoint(sb.id, ep.id), net.id);
      t.put(mirrorKey(net.id, ep.id), ep);
    });
  }
  const driver = driverOf(core, net);
  let handle: ReturnType<typeof openSandbox> | undefined;
  try {
    if (driver.capabilities.sandboxMode === 'own') handle = openSandbox(sb);
    if (handle) {
      const iface = await driver.createEndpoint(net, ep, handle);
      Object.assign(ep, iface);
      undo.push('create endpoint', () => driver.deleteEndpoint(net, ep));
      await driver.join(net, ep, handle, { defaultRoute: !!ep.defaultRoute, defaultRoute6: !!ep.defaultRoute6, routes: opts.routes });
      await applyEndpointOptions(handle, ep.ifname, opts);
    }
    if (ep.ports.length) await publish(core, net, ep, undo);
    if (opts.hairpin && driver.setHairpin) await driver.setHairpin(net, ep, true);
    if (egress) await joinEgress(core, sb, egress, opts, undo);
    await refreshSandboxFiles(core, sb);
    await completeEndpoint(core, net, ep);
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

/**
 * Finishes what a connect or a removal killed midway left (an endpoint still marked changing whose
 * process is gone): the endpoint is removed as far as it got — interface, host end, ports,
 * addresses, record — as a disconnect would. The runtime's later DEL, or the user's next command, then finds it gone. Returns
 * the sandbox names concerned.
 */
export async function reapStaleEndpoints(core: Core): Promise<string[]> {
  const reaped: string[] = [];
  const self = core.cluster?.settings.host;
  for (const store of stores(core)) {
    // The marks only: a prefix that is empty unless a change is under way or was killed.
    for (const { key, value: mark } of await store.list<ChangeMark>('endpoint-changing/')) {
      if (!ownerGone(mark) || (store !== core.local && mark.host !== self)) continue;
      const [, networkId, endpointId] = key.split('/');
      const ep = await store.get<Endpoint>(keys.endpoint(networkId, endpointId));
      const net = await networkById(core, networkId);
      const sb = ep && (await core.local.get<Sandbox>(keys.sandbox(ep.sandboxId)));
      try {
        if (ep && net && sb) await removeEndpoint(core, net, sb, ep);
        else if (ep && net) {
          await driverOf(core, net).deleteEndpoint(net, ep);
          await forgetEndpoint(core, net, ep);
        } else {
          await store.txn(async (t) => {
            await t.delete(keys.endpoint(networkId, endpointId));
            await t.delete(key);
          });
        }
        if (ep) reaped.push(ep.name);
      } catch (err) {
        debug(`reap endpoint ${endpointId}: ${(err as Error).message}`);
      }
    }
  }
  if (reaped.length) debug(`reaped endpoints a crashed connect or removal left half-made: ${reaped.join(', ')}`);
  return reaped;
}

/** Programs the endpoint's published ports, and hairpin mode so the sandbox reaches its own ports via the host. */
export async function publish(core: Core, net: Network, ep: Endpoint, undo: Undo): Promise<void> {
  const fw = firewallEndpoint(net, ep);
  undo.push('publish ports', () => core.firewall.unpublishPorts(fw));
  await core.firewall.publishPorts(fw);
  await driverOf(core, net).setHairpin?.(net, ep, true);
}

/** Disconnects sandbox from network; with force, a missing endpoint or namespace is not an error. */
export async function disconnect(core: Core, netRef: string, sbRef: string, opts: { force?: boolean } = {}): Promise<Endpoint | undefined> {
  const net = await findNetwork(core, netRef);
  const sb = await findSandbox(core.local, sbRef);
  const ep = (await sandboxEndpoints(core, sb.id)).find((e) => e.networkId === net.id);
  if (!ep) {
    if (opts.force) return undefined;
    throw new NotFoundError(`sandbox ${sb.name} is not connected to network ${net.name}`);
  }
  if (sb.mode === 'host' && !opts.force) throw new ConflictError(`sandbox ${sb.name}: container cannot be disconnected from host network or connected to host network`);
  await removeEndpoint(core, net, sb, ep);
  if (net.info.egress && !net.internal) await leaveEgress(core, sb, net.info.egress);
  return ep;
}

/**
 * Joins the sandbox to the local egress network of a network that has one (the overlay's gateway
 * bridge), creating that network on first use; the sandbox's published ports go there.
 */
async function joinEgress(core: Core, sb: Sandbox, spec: NetworkSpec, opts: ConnectOptions, undo: Undo): Promise<void> {
  let egress = await lookupNetwork(core, core.local, spec.name);
  if (!egress) {
    try {
      egress = await createNetwork(core, spec);
    } catch (err) {
      // Another process made it first.
      egress = await lookupNetwork(core, core.local, spec.name);
      if (!egress) throw err;
    }
  }
  const joined = (await sandboxEndpoints(core, sb.id)).some((e) => e.networkId === egress!.id);
  const ports = { publish: opts.publish, ports: opts.ports, publishAll: opts.publishAll };
  if (joined) {
    if (opts.publish?.length || opts.ports?.length || opts.publishAll) throw new ConflictError(`sandbox ${sb.name}: ports are published with its first network that uses ${spec.name}`);
    return;
  }
  const ep = await connect(core, egress.id, sb.id, ports);
  undo.push(`join ${spec.name}`, () => disconnect(core, egress!.id, sb.id, { force: true }));
  debug(`sandbox ${sb.name} joined ${spec.name} as ${ep.ifname}`);
}

/** Leaves the egress network once no network of the sandbox that needs it is left. */
async function leaveEgress(core: Core, sb: Sandbox, spec: NetworkSpec): Promise<void> {
  const eps = await sandboxEndpoints(core, sb.id);
  const nets = await Promise.all(eps.map((e) => networkById(core, e.networkId)));
  if (nets.some((n) => n && !n.internal && n.info.egress?.name === spec.name)) return;
  const egress = nets.find((n) => n?.name === spec.name);
  if (egress) await disconnect(core, egress.id, sb.id, { force: true });
}

/** Tears an endpoint down completely: leave, delete, free, then repair the default routes that went with it. */
export async function removeEndpoint(core: Core, net: Network, sb: Sandbox, ep: Endpoint): Promise<void> {
  const driver = driverOf(core, net);
  let handle: ReturnType<typeof openSandbox> | undefined;
  try {
    handle = ep.ifname && (sb.mode === 'own' || sb.mode === 'none') ? openSandbox(sb) : undefined;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  try {
    // A removal killed midway (interface gone, record kept) is finished by reapStaleEndpoints.
    const store = networkStore(core, net);
    const owner = await ownedBy(core, store);
    await store.txn(async (t) => {
      if (await t.get(keys.endpoint(ep.networkId, ep.id))) markChanging(t, ep, owner);
    });
    if (ep.ports.length) await core.firewall.unpublishPorts(firewallEndpoint(net, ep));
    await driver.leave(net, ep, handle);
    await driver.deleteEndpoint(net, ep);
    await forgetEndpoint(core, net, ep);
    if (handle && (ep.defaultRoute || ep.defaultRoute6)) await repairDefaultRoutes(core, sb, ep, handle);
    if (await core.local.get(keys.sandbox(sb.id))) await refreshSandboxFiles(core, sb);
  } finally {
    handle?.close();
  }
}

/** After a leave, hands each family's default route that went with the endpoint to another network of the sandbox. */
async function repairDefaultRoutes(core: Core, sb: Sandbox, gone: Endpoint, handle: SandboxHandle): Promise<void> {
  for (const fam of [4, 6] as const) {
    if (!(fam === 4 ? gone.defaultRoute : gone.defaultRoute6)) continue;
    for (const other of await sandboxEndpoints(core, sb.id)) {
      const net = await networkById(core, other.networkId);
      const gateway = net && !net.internal ? gatewayOf(net, fam) : undefined;
      if (!net || !gateway || !other.ifname || !(fam === 4 ? other.ipv4 : other.ipv6)) continue;
      const taken = await networkStore(core, net).txn(async (t) => {
        const current = await t.get<Endpoint>(keys.endpoint(net.id, other.id));
        if (!current) return undefined;
        const updated = { ...current, ...(fam === 4 ? { defaultRoute: true } : { defaultRoute6: true }) };
        t.put(keys.endpoint(net.id, other.id), updated);
        return updated;
      });
      if (!taken) continue;
      const link = await handle.netlink.getLink(other.ifname);
      if (link) await handle.netlink.addRoute({ dst: fam === 6 ? '::/0' : undefined, gateway, oif: link.index }).catch((err) => { if (!(err instanceof ConflictError)) throw err; });
      break;
    }
  }
}
