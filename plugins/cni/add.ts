/**
 * ADD: network (created on first use), sandbox over CNI_NETNS, endpoint CNI_IFNAME through the
 * Controller, with the config's extra routes and hairpin mode (the driver sets them inside the
 * attachment). Validation runs before the first side effect, and a failure after it runs every
 * reverse, so nothing is left half-made.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type AttachmentState, ConflictError, type ConnectOptions, type Controller, type Endpoint, log, type Network, NotFoundError, type Sandbox } from '../../src/index';
import { sandboxOf, trySandbox } from '../shared/lookup';
import { attachmentEndpoint, findContainer, forgetContainer, recordContainer, sandboxNames } from './attachments';
import { CniCode, CniError } from './codes';
import { type AttachmentPlan, attachmentPlan, checkStaticAddresses, type NetConf, type NetworkPlan, networkPlan, resultDns } from './config';
import { ensureNetwork } from './network';
import { appendResult, type CniResult, type CniRoute } from './result';
import type { CniRequest } from './skel';

const debug = log('tsnet:cni:add');

/** Reverses of completed steps, newest first. */
type Reverses = (() => unknown)[];

/** IPv4 or IPv6 of a CIDR or address. */
const familyOf = (cidrOrIp: string): 4 | 6 => (cidrOrIp.includes(':') ? 6 : 4);
/** The network's gateway of one family. */
const gatewayOf = (net: Network, fam: 4 | 6) => net.ipam.find((p) => p.gateway && familyOf(p.subnet) === fam)?.gateway;

/**
 * Refuses a route of a family the interface will have no address of. The endpoint gets one address
 * per pool of the network, so the network's pools decide it, before anything is made.
 */
function checkRouteFamilies(net: Network, ifname: string, routes: NetworkPlan['routes']): void {
  for (const r of routes) {
    const fam = familyOf(r.dst);
    if (!net.ipam.some((p) => familyOf(p.subnet) === fam)) throw new CniError(CniCode.InvalidNetworkConfig, `invalid network config: route ${r.dst}: interface ${ifname} has no IPv${fam} address`);
  }
}

/** What the endpoint asks of connect: addresses, MAC, aliases, ports, and the config's routes and hairpin mode. */
function connectOptions(req: CniRequest, plan: NetworkPlan, att: AttachmentPlan): ConnectOptions {
  return {
    ifname: req.ifname, ip: att.ip, ip6: att.ip6, mac: att.mac, aliases: att.aliases, ports: att.ports,
    routes: plan.routes.map((r) => ({ dst: r.dst, gateway: r.gw })), hairpin: plan.hairpin,
  };
}

/** The endpoint's aliases: a sandbox named after the id still answers to the runtime's name for the container. */
function aliasesFor(sandboxName: string, att: AttachmentPlan): string[] {
  return att.runtimeName && sandboxName !== att.runtimeName ? [...new Set([att.runtimeName, ...att.aliases])] : att.aliases;
}

/**
 * Creates the container's sandbox with its first endpoint, named by the runtime (K8S_POD_NAME) when
 * that name is free, else by the id: the short name when free, else the collision-proof one. The
 * record goes first, so DEL and GC find whatever a killed plugin left.
 */
async function createSandbox(ctl: Controller, req: CniRequest, net: Network, plan: NetworkPlan, att: AttachmentPlan, undo: Reverses): Promise<Sandbox> {
  // The runtime's name for the container first; a name another sandbox holds falls back to the id's.
  const names = [...(att.runtimeName ? [att.runtimeName] : []), ...sandboxNames(req.containerId)];
  const base = { ...connectOptions(req, plan, att), network: net.id, netnsPath: req.netns, dns: att.dns?.servers, dnsSearch: att.dns?.search, dnsOptions: att.dns?.options };
  const optsFor = (name: string) => ({ ...base, aliases: aliasesFor(name, att) });
  const record = (sandboxName: string, sandboxId?: string) => recordContainer(ctl, req.containerId, { sandboxName, sandboxId, netns: req.netns, created: new Date().toISOString(), pod: att.pod });
  const nameFree = async (name: string) => !(await trySandbox(ctl, name));
  let i = 0;
  while (i < names.length - 1 && !(await nameFree(names[i]))) i++;
  await record(names[i]);
  undo.push(() => forgetContainer(ctl, req.containerId));
  let sb: Sandbox | undefined;
  for (; !sb; i++) {
    try {
      sb = await ctl.createSandbox({ name: names[i], ...optsFor(names[i]) });
    } catch (err) {
      // Another sandbox took the name meanwhile (the store says so, whatever else conflicted): the next candidate.
      if (!(err instanceof ConflictError) || i === names.length - 1 || (await nameFree(names[i]))) throw err;
      await record(names[i + 1]);
    }
  }
  const made = sb;
  undo.push(() => ctl.deleteSandbox(made.id));
  await record(made.name, made.id);
  return made;
}

/** Attaches the container: a new sandbox with this endpoint, or one more endpoint of its sandbox. */
async function attach(ctl: Controller, req: CniRequest, net: Network, plan: NetworkPlan, att: AttachmentPlan, undo: Reverses): Promise<{ sb: Sandbox; ep: Endpoint }> {
  let sb = await sandboxOf(ctl, await findContainer(ctl, req.containerId));
  if (sb && sb.key !== req.netns) {
    if ((await ctl.sandboxEndpoints(sb.id)).length) throw new CniError(CniCode.Internal, `container ${req.containerId} is attached through namespace ${sb.key}, not ${req.netns}: DEL it first`);
    // An empty sandbox left by a failed ADD for an earlier namespace of this id.
    await ctl.deleteSandbox(sb.id);
    sb = undefined;
  }
  if (sb) {
    const taken = (await ctl.sandboxEndpoints(sb.id)).find((e) => e.ifname === req.ifname);
    if (taken) throw new CniError(CniCode.Internal, `container ${req.containerId} already has interface ${req.ifname} (network ${(await ctl.getNetwork(taken.networkId)).name}): ADD twice without DEL`);
    checkRouteFamilies(net, req.ifname, plan.routes);
    const owner = sb;
    const ep = await ctl.connect(net.id, owner.id, { ...connectOptions(req, plan, att), aliases: aliasesFor(owner.name, att) });
    undo.push(() => ctl.disconnect(net.id, owner.id, { force: true }));
    return { sb: owner, ep };
  }
  checkRouteFamilies(net, req.ifname, plan.routes);
  const created = await createSandbox(ctl, req, net, plan, att, undo);
  const ep = await attachmentEndpoint(ctl, created, net.id, req.ifname);
  if (!ep) throw new CniError(CniCode.Internal, `container ${req.containerId}: sandbox ${created.name} has no interface ${req.ifname} on network ${net.name} after ADD`);
  return { sb: created, ep };
}

/**
 * The attachment as the kernel holds it, as a CNI result: the network's device (the bridge), the
 * host side of the endpoint, then the container interface with its addresses; the default routes
 * through it and the config's routes.
 */
export function describeAttachment(o: { state: AttachmentState; net: Network; ep: Endpoint; netns: string; routes: NetworkPlan['routes'] }): CniResult {
  const { state, net, ep } = o;
  const result: CniResult = { interfaces: state.hostInterfaces.map((i) => ({ name: i.name, mac: i.mac, mtu: i.mtu })), ips: [], routes: [], dns: {} };
  const inside = state.sandboxInterface;
  if (!inside) throw new NotFoundError(`link ${ep.ifname}: does not exist`);
  result.interfaces.push({ name: inside.name, mac: inside.mac, mtu: inside.mtu, sandbox: o.netns });
  const index = result.interfaces.length - 1;
  for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) result.ips.push({ address: cidr, gateway: gatewayOf(net, familyOf(cidr)), interface: index });
  const planned = new Set(o.routes.map((r) => r.dst));
  for (const fam of [4, 6] as const) {
    for (const r of state.routes) {
      if (r.family !== fam || (r.dst && !planned.has(r.dst))) continue;
      const route: CniRoute = { dst: r.dst ?? (fam === 4 ? '0.0.0.0/0' : '::/0') };
      if (r.gateway) route.gw = r.gateway;
      result.routes.push(route);
    }
  }
  return result;
}

/** What ADD will do, checked in full before anything is touched. */
export interface AddPlans {
  plan: NetworkPlan;
  att: AttachmentPlan;
}

/** ADD's checks that need no state: the config's plans and the container's namespace. */
export function prepareAdd(req: CniRequest, conf: NetConf): AddPlans {
  const plan = networkPlan(conf);
  const att = attachmentPlan(conf, req, plan.name);
  checkStaticAddresses(plan, att);
  if (!fs.existsSync(req.netns)) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId}: network namespace ${req.netns} does not exist`);
  return { plan, att };
}

/** ADD: see the file comment. The result is appended to prevResult when the plugin is not first in a chain. */
export async function addAttachment(ctl: Controller, req: CniRequest, { plan, att }: AddPlans): Promise<CniResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await addOnce(ctl, req, plan, att);
    } catch (err) {
      // The last DEL of the network removed it between our lookup and our connect: make it again.
      if (attempt >= NETWORK_GONE_RETRIES || !networkWentAway(err)) throw err;
      debug(`network ${plan.name} was being removed; attempt ${attempt + 1}`);
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/** Attempts of an ADD whose network a concurrent last DEL is removing. */
const NETWORK_GONE_RETRIES = 5;

/** Whether err says the network (the only one an ADD touches, by name or id) was removed, or is being removed, under the ADD. */
function networkWentAway(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : '';
  return (err instanceof ConflictError && /is being removed|was removed while being connected/.test(msg)) || (err instanceof NotFoundError && /^network \S+ not found$/.test(msg));
}

/** One ADD attempt: see the file comment. */
async function addOnce(ctl: Controller, req: CniRequest, plan: NetworkPlan, att: AttachmentPlan): Promise<CniResult> {
  const net = await ensureNetwork(ctl, plan);
  debug(`network ${net.name} ready at ${performance.now().toFixed(1)} ms`);
  const undo: Reverses = [];
  try {
    const { sb, ep } = await attach(ctl, req, net, plan, att, undo);
    debug(`attached ${ep.ifname} ${ep.ipv4 ?? ''} ${ep.ipv6 ?? ''} at ${performance.now().toFixed(1)} ms`);
    const state = await ctl.attachmentState(net.id, sb.id);
    const mine = describeAttachment({ state, net, ep, netns: req.netns, routes: plan.routes });
    mine.dns = resultDns(plan, net.info.dns);
    return req.prevResult ? appendResult(req.prevResult, mine) : mine;
  } catch (err) {
    for (const reverse of undo.reverse()) {
      try {
        await reverse();
      } catch {
        // The original failure is what the runtime needs to see; DEL or GC collects what is left.
      }
    }
    throw err;
  }
}
