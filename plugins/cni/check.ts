/**
 * CHECK: the attachment as prevResult describes it must still be there: the container interface
 * with its MAC, state and addresses, the routes through the network's gateway, the host veth on
 * its bridge, and the store's reservation of the same addresses. Any drift is an error naming it.
 */
import * as fs from 'node:fs';
import { contains, type Controller, type Endpoint, ipToBigInt, type Network, NetlinkHandle } from '../../src/index';
import { attachmentEndpoint, findContainer, sandboxOf } from './attachments';
import { CniCode, CniError } from './codes';
import type { NetConf } from './config';
import { tryNetwork } from './network';
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
function storedEndpoint(ctl: Controller, req: CniRequest, conf: NetConf): { net: Network; ep: Endpoint } {
  const sb = sandboxOf(ctl, findContainer(ctl, req.containerId));
  if (!sb) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId} is not attached by tsnet`);
  const net = tryNetwork(ctl, conf.network ?? conf.name);
  const ep = net && attachmentEndpoint(ctl, sb, net.id, req.ifname);
  if (!net || !ep) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId} has no interface ${req.ifname} on network ${conf.network ?? conf.name}`);
  if (sb.key !== req.netns) throw drift(`container ${req.containerId} is attached through namespace ${sb.key}, not ${req.netns}`);
  return { net, ep };
}

/** Container side: interface, MAC, up, addresses, routes through this network. */
async function checkContainerSide(prev: CniResult, req: CniRequest, net: Network, ep: Endpoint): Promise<void> {
  const index = prev.interfaces.findIndex((i) => i.name === req.ifname && i.sandbox === req.netns);
  if (index < 0) throw new CniError(CniCode.InvalidNetworkConfig, `invalid network config: prevResult lists no interface ${req.ifname} in ${req.netns}`);
  const expected = prev.interfaces[index];
  const ips = prev.ips.filter((ip) => ip.interface === index);
  for (const cidr of [ep.ipv4, ep.ipv6]) {
    if (cidr && !ips.some((ip) => sameCidr(ip.address, cidr))) throw drift(`the store reserves ${cidr} for ${req.ifname}, prevResult does not list it`);
  }
  if (!fs.existsSync(req.netns)) throw drift(`network namespace ${req.netns} is gone`);
  const inside = NetlinkHandle.open(req.netns);
  try {
    const link = await inside.getLink(req.ifname);
    if (!link) throw drift(`interface ${req.ifname} is missing from ${req.netns}`);
    if (expected.mac && link.mac !== expected.mac.toLowerCase()) throw drift(`interface ${req.ifname} has MAC ${link.mac}, prevResult says ${expected.mac}`);
    if (!link.up) throw drift(`interface ${req.ifname} is down`);
    const addrs = (await inside.listAddrs(link.index)).map((a) => a.cidr);
    for (const ip of ips) if (!addrs.some((a) => sameCidr(a, ip.address))) throw drift(`address ${ip.address} is missing from ${req.ifname}`);
    // Routes other plugins made (or moved) are theirs to check: only those through this network's subnets are.
    for (const r of prev.routes) {
      if (!r.gw || !net.ipam.some((p) => contains(p.subnet, r.gw!))) continue;
      const fam = r.dst.includes(':') ? 6 : 4;
      const isDefault = r.dst.endsWith('/0');
      const found = (await inside.listRoutes(fam)).some((k) => k.gateway === r.gw && (isDefault ? !k.dst : k.dst !== undefined && sameCidr(k.dst, r.dst)));
      if (!found) throw drift(`route ${r.dst} via ${r.gw} is missing in ${req.netns}`);
    }
  } finally {
    inside.close();
  }
}

/** Host side: the veth exists and is a port of the network's bridge, which is up. */
async function checkHostSide(host: NetlinkHandle, net: Network, ep: Endpoint): Promise<void> {
  if (!net.driverState.bridge) return;
  const bridge = await host.getLink(net.driverState.bridge);
  if (!bridge) throw drift(`bridge ${net.driverState.bridge} of network ${net.name} is missing`);
  if (!bridge.up) throw drift(`bridge ${bridge.name} of network ${net.name} is down`);
  if (!ep.hostVeth) return;
  const veth = await host.getLink(ep.hostVeth);
  if (!veth) throw drift(`host veth ${ep.hostVeth} is missing`);
  if (veth.master !== bridge.index) throw drift(`host veth ${ep.hostVeth} is not a port of bridge ${bridge.name}`);
}

/** The spec requires prevResult for CHECK: it says what to expect. */
export function requirePrevResult(req: CniRequest): CniResult {
  if (!req.prevResult) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config: CHECK needs prevResult');
  return req.prevResult;
}

/** CHECK: see the file comment. */
export async function checkAttachment(ctl: Controller, host: NetlinkHandle, req: CniRequest, conf: NetConf): Promise<void> {
  const prev = requirePrevResult(req);
  const { net, ep } = storedEndpoint(ctl, req, conf);
  await checkContainerSide(prev, req, net, ep);
  await checkHostSide(host, net, ep);
}
