/**
 * CHECK: the attachment as prevResult describes it must still be there: the container interface
 * with its MAC, state and addresses, the routes through the network's gateway, the host side on
 * its bridge, and the store's reservation of the same addresses. Any drift is an error naming it.
 * What the kernel holds is read back through the Controller (its attachment state).
 */
import * as fs from 'node:fs';
import { type AttachmentState, contains, type Controller, type Endpoint, ipToBigInt, type Network, type Sandbox } from '../../src/index';
import { sandboxOf, tryNetwork } from '../shared/lookup';
import { attachmentEndpoint, findContainer } from './attachments';
import { CniCode, CniError } from './codes';
import type { NetConf } from './config';
import type { CniResult } from './result';
import type { CniRequest } from './skel';

/** An error for a resource that drifted from what ADD made. */
const drift = (msg: string) => new CniError(CniCode.Internal, `check failed: ${msg}`);

/** Whether two "ip/len" strings are the same address and prefix, whatever their spelling. */
function sameCidr(a: string, b: string): boolean {
  const [ia, la] = a.split('/'), [ib, lb] = b.split('/');
  return la === lb && ia.includes(':') === ib.includes(':') && ipToBigInt(ia) === ipToBigInt(ib);
}

/** The endpoint the store holds for this attachment; unknown ones are code 3. */
async function storedEndpoint(ctl: Controller, req: CniRequest, conf: NetConf): Promise<{ net: Network; sb: Sandbox; ep: Endpoint }> {
  const sb = await sandboxOf(ctl, await findContainer(ctl, req.containerId));
  if (!sb) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId} is not attached by tsnet`);
  const net = await tryNetwork(ctl, conf.network ?? conf.name);
  const ep = net && (await attachmentEndpoint(ctl, sb, net.id, req.ifname));
  if (!net || !ep) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId} has no interface ${req.ifname} on network ${conf.network ?? conf.name}`);
  if (sb.key !== req.netns) throw drift(`container ${req.containerId} is attached through namespace ${sb.key}, not ${req.netns}`);
  return { net, sb, ep };
}

/** What prevResult says of this attachment's container interface: its entry and its addresses. */
function expectedInterface(prev: CniResult, req: CniRequest): { mac?: string; ips: CniResult['ips'] } {
  const index = prev.interfaces.findIndex((i) => i.name === req.ifname && i.sandbox === req.netns);
  if (index < 0) throw new CniError(CniCode.InvalidNetworkConfig, `invalid network config: prevResult lists no interface ${req.ifname} in ${req.netns}`);
  return { mac: prev.interfaces[index].mac, ips: prev.ips.filter((ip) => ip.interface === index) };
}

/** Container side: interface, MAC, up, addresses, routes through this network. */
function checkContainerSide(prev: CniResult, req: CniRequest, net: Network, expected: ReturnType<typeof expectedInterface>, state: AttachmentState): void {
  const link = state.sandboxInterface;
  if (!link) throw drift(`interface ${req.ifname} is missing from ${req.netns}`);
  if (expected.mac && link.mac !== expected.mac.toLowerCase()) throw drift(`interface ${req.ifname} has MAC ${link.mac}, prevResult says ${expected.mac}`);
  if (!link.up) throw drift(`interface ${req.ifname} is down`);
  for (const ip of expected.ips) if (!link.addresses.some((a) => sameCidr(a, ip.address))) throw drift(`address ${ip.address} is missing from ${req.ifname}`);
  // Routes other plugins made (or moved) are theirs to check: only those through this network's subnets are.
  for (const r of prev.routes) {
    if (!r.gw || !net.ipam.some((p) => contains(p.subnet, r.gw!))) continue;
    const fam = r.dst.includes(':') ? 6 : 4;
    const isDefault = r.dst.endsWith('/0');
    const found = state.routes.some((k) => k.family === fam && k.gateway === r.gw && (isDefault ? !k.dst : k.dst !== undefined && sameCidr(k.dst, r.dst)));
    if (!found) throw drift(`route ${r.dst} via ${r.gw} is missing in ${req.netns}`);
  }
}

/** Host side: the network's device (the bridge) exists and is up, and the endpoint's host interface is a port of it. */
function checkHostSide(net: Network, ep: Endpoint, state: AttachmentState): void {
  const device = net.info.device;
  if (!device) return;
  const bridge = state.hostInterfaces.find((i) => i.name === device);
  if (!bridge) throw drift(`bridge ${device} of network ${net.name} is missing`);
  if (!bridge.up) throw drift(`bridge ${bridge.name} of network ${net.name} is down`);
  if (!ep.hostVeth) return;
  const veth = state.hostInterfaces.find((i) => i.name === ep.hostVeth);
  if (!veth) throw drift(`host veth ${ep.hostVeth} is missing`);
  if (veth.master !== bridge.name) throw drift(`host veth ${ep.hostVeth} is not a port of bridge ${bridge.name}`);
}

/** The spec requires prevResult for CHECK: it says what to expect. */
export function requirePrevResult(req: CniRequest): CniResult {
  if (!req.prevResult) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config: CHECK needs prevResult');
  return req.prevResult;
}

/** CHECK: see the file comment. */
export async function checkAttachment(ctl: Controller, req: CniRequest, conf: NetConf): Promise<void> {
  const prev = requirePrevResult(req);
  const { net, sb, ep } = await storedEndpoint(ctl, req, conf);
  const expected = expectedInterface(prev, req);
  for (const cidr of [ep.ipv4, ep.ipv6]) {
    if (cidr && !expected.ips.some((ip) => sameCidr(ip.address, cidr))) throw drift(`the store reserves ${cidr} for ${req.ifname}, prevResult does not list it`);
  }
  if (!fs.existsSync(req.netns)) throw drift(`network namespace ${req.netns} is gone`);
  const state = await ctl.attachmentState(net.id, sb.id);
  checkContainerSide(prev, req, net, expected, state);
  checkHostSide(net, ep, state);
}
