/** Reads back from the kernel what one attachment is: host devices, the sandbox interface with its addresses, its routes. */
import type { Network, Sandbox } from '../model';
import { NotFoundError } from '../errors';
import type { AttachmentState } from './controller';
import { type Core, sandboxEndpoints } from './core';
import { openSandbox } from './endpoint';

/** See AttachmentState; NotFound when the sandbox has no endpoint on the network. */
export async function attachmentState(core: Core, net: Network, sb: Sandbox): Promise<AttachmentState> {
  const ep = (await sandboxEndpoints(core, sb.id)).find((e) => e.networkId === net.id);
  if (!ep) throw new NotFoundError(`sandbox ${sb.name} is not connected to network ${net.name}`);
  const state: AttachmentState = { hostInterfaces: [], routes: [] };
  // The bridge takes the lowest port MAC, so it is read after the veth joined it.
  for (const name of [net.info.device, ep.hostVeth]) {
    const link = name ? await core.host.getLink(name) : undefined;
    if (!link) continue;
    const master = link.master ? (await core.host.getLink(link.master))?.name : undefined;
    state.hostInterfaces.push({ name: link.name, mac: link.mac, mtu: link.mtu, up: link.up, master });
  }
  if (!ep.ifname) return state;
  const handle = openSandbox(sb);
  try {
    const link = await handle.netlink.getLink(ep.ifname);
    if (!link) return state;
    const addresses = (await handle.netlink.listAddrs(link.index)).map((a) => a.cidr);
    state.sandboxInterface = { name: link.name, mac: link.mac, mtu: link.mtu, up: link.up, addresses };
    for (const fam of [4, 6] as const) {
      for (const r of await handle.netlink.listRoutes(fam)) if (r.oif === link.index) state.routes.push({ dst: r.dst, gateway: r.gateway, family: fam });
    }
    return state;
  } finally {
    handle.close();
  }
}
