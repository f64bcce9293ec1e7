/**
 * ADD: network (created on first use), sandbox over CNI_NETNS, endpoint CNI_IFNAME through the
 * Controller; then the config's extra routes and hairpin mode. Validation runs before the first
 * side effect, and a failure after it runs every reverse, so nothing is left half-made.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConflictError, type Controller, type Endpoint, type LinkInfo, log, type Network, NetlinkHandle, NotFoundError, type Sandbox } from '../../src/index';
import { attachmentEndpoint, findContainer, forgetContainer, recordContainer, sandboxNames, sandboxOf } from './attachments';
import { CniCode, CniError } from './codes';
import { type AttachmentPlan, attachmentPlan, checkStaticAddresses, type NetConf, type NetworkPlan, networkPlan } from './config';
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

/** Whether no sandbox holds the name. */
function nameFree(ctl: Controller, name: string): boolean {
  try {
    ctl.getSandbox(name);
    return false;
  } catch (err) {
    if (err instanceof NotFoundError) return true;
    throw err;
  }
}

/**
 * Creates the container's sandbox with its first endpoint: the short name when free, else the
 * collision-proof one. The record goes first, so DEL and GC find whatever a killed plugin left.
 */
async function createSandbox(ctl: Controller, req: CniRequest, net: Network, att: AttachmentPlan, undo: Reverses): Promise<Sandbox> {
  const names = sandboxNames(req.containerId);
  const opts = {
    network: net.id, netnsPath: req.netns, ifname: req.ifname, ip: att.ip, ip6: att.ip6, mac: att.mac, aliases: att.aliases, ports: att.ports,
    dns: att.dns?.servers, dnsSearch: att.dns?.search, dnsOptions: att.dns?.options,
  };
  const record = (sandboxName: string, sandboxId?: string) => recordContainer(ctl, req.containerId, { sandboxName, sandboxId, netns: req.netns, created: new Date().toISOString() });
  let name = nameFree(ctl, names[0]) ? names[0] : names[1];
  record(name);
  undo.push(() => forgetContainer(ctl, req.containerId));
  let sb: Sandbox;
  try {
    sb = await ctl.createSandbox({ name, ...opts });
  } catch (err) {
    // Another container with the same first 12 characters took the short name meanwhile.
    if (!(err instanceof ConflictError) || name === names[1] || nameFree(ctl, names[0])) throw err;
    name = names[1];
    record(name);
    sb = await ctl.createSandbox({ name, ...opts });
  }
  undo.push(() => ctl.deleteSandbox(sb.id));
  record(name, sb.id);
  return sb;
}

/** Attaches the container: a new sandbox with this endpoint, or one more endpoint of its sandbox. */
async function attach(ctl: Controller, req: CniRequest, net: Network, att: AttachmentPlan, undo: Reverses): Promise<{ sb: Sandbox; ep: Endpoint }> {
  let sb = sandboxOf(ctl, findContainer(ctl, req.containerId));
  if (sb && sb.key !== req.netns) {
    if (ctl.sandboxEndpoints(sb.id).length) throw new CniError(CniCode.Internal, `container ${req.containerId} is attached through namespace ${sb.key}, not ${req.netns}: DEL it first`);
    // An empty sandbox left by a failed ADD for an earlier namespace of this id.
    await ctl.deleteSandbox(sb.id);
    sb = undefined;
  }
  if (sb) {
    const taken = ctl.sandboxEndpoints(sb.id).find((e) => e.ifname === req.ifname);
    if (taken) throw new CniError(CniCode.Internal, `container ${req.containerId} already has interface ${req.ifname} (network ${ctl.getNetwork(taken.networkId).name}): ADD twice without DEL`);
    const owner = sb;
    const ep = await ctl.connect(net.id, owner.id, { ifname: req.ifname, ip: att.ip, ip6: att.ip6, mac: att.mac, aliases: att.aliases, ports: att.ports });
    undo.push(() => ctl.disconnect(net.id, owner.id, { force: true }));
    return { sb: owner, ep };
  }
  const created = await createSandbox(ctl, req, net, att, undo);
  return { sb: created, ep: attachmentEndpoint(ctl, created, net.id, req.ifname)! };
}

/** Adds the config's routes through the interface; a default route is skipped when the container has one (spec: "prepared to skip"). */
async function addRoutes(inside: NetlinkHandle, link: LinkInfo, net: Network, ep: Endpoint, routes: NetworkPlan['routes']): Promise<void> {
  for (const r of routes) {
    const fam = familyOf(r.dst);
    if (!(fam === 4 ? ep.ipv4 : ep.ipv6)) throw new CniError(CniCode.InvalidNetworkConfig, `invalid network config: route ${r.dst}: interface ${ep.ifname} has no IPv${fam} address`);
    if (r.dst.endsWith('/0') && (await inside.listRoutes(fam)).some((x) => !x.dst)) continue;
    await inside.addRoute({ dst: r.dst, gateway: r.gw ?? gatewayOf(net, fam), oif: link.index });
  }
}

/** Reads back what the attachment is in the kernel: bridge, host veth, container interface, addresses, routes. */
export async function describeAttachment(o: { host: NetlinkHandle; inside: NetlinkHandle; net: Network; ep: Endpoint; netns: string; routes: NetworkPlan['routes'] }): Promise<CniResult> {
  const { host, inside, net, ep } = o;
  const result: CniResult = { interfaces: [], ips: [], routes: [], dns: {} };
  // The bridge takes the lowest port MAC, so it is read after the veth joined it.
  for (const name of [net.driverState.bridge, ep.hostVeth]) {
    const link = name ? await host.getLink(name) : undefined;
    if (link) result.interfaces.push({ name: link.name, mac: link.mac, mtu: link.mtu });
  }
  const link = await inside.mustGetLink(ep.ifname);
  result.interfaces.push({ name: link.name, mac: link.mac, mtu: link.mtu, sandbox: o.netns });
  const index = result.interfaces.length - 1;
  for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) result.ips.push({ address: cidr, gateway: gatewayOf(net, familyOf(cidr)), interface: index });
  const planned = new Set(o.routes.map((r) => r.dst));
  for (const fam of [4, 6] as const) {
    for (const r of await inside.listRoutes(fam)) {
      if (r.oif !== link.index || (r.dst && !planned.has(r.dst))) continue;
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
export async function addAttachment(ctl: Controller, host: NetlinkHandle, req: CniRequest, { plan, att }: AddPlans): Promise<CniResult> {
  const { net } = await ensureNetwork(ctl, host, plan);
  debug(`network ${net.name} ready at ${performance.now().toFixed(1)} ms`);
  const undo: Reverses = [];
  try {
    const { ep } = await attach(ctl, req, net, att, undo);
    debug(`attached ${ep.ifname} ${ep.ipv4 ?? ''} ${ep.ipv6 ?? ''} at ${performance.now().toFixed(1)} ms`);
    const inside = NetlinkHandle.open(req.netns);
    try {
      await addRoutes(inside, await inside.mustGetLink(req.ifname), net, ep, plan.routes);
      if (plan.hairpin && ep.hostVeth) await host.setHairpin((await host.mustGetLink(ep.hostVeth)).index, true);
      const mine = await describeAttachment({ host, inside, net, ep, netns: req.netns, routes: plan.routes });
      mine.dns = plan.dns;
      return req.prevResult ? appendResult(req.prevResult, mine) : mine;
    } finally {
      inside.close();
    }
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
