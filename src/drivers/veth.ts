/** The veth pair of a bridged endpoint (bridge and overlay drivers): host end on the bridge, peer born inside the sandbox. */
import type { NetlinkHandle } from '../kernel/netlink';

/**
 * The host end's name for an endpoint: derived from its id, so an endpoint whose process died before
 * recording the name (Endpoint.hostVeth) still finds its host end when it is removed.
 */
export const hostVethName = (ep: { id: string; hostVeth?: string }): string => ep.hostVeth ?? `veth${ep.id.slice(0, 7)}`;

/**
 * Creates hostVeth with its peer `ifname` straight inside the sandbox (no rename, no window where it
 * sits in the host), enslaves the host end to bridgeIndex and sets it up; nothing is left on failure.
 */
export async function attachVeth(h: NetlinkHandle, o: { hostVeth: string; ifname: string; bridgeIndex: number; mtu: number; nsFd: number; mac?: string }): Promise<void> {
  const veth = await h.createVeth(o.hostVeth, o.ifname, { mtu: o.mtu, peerNetnsFd: o.nsFd, peerMac: o.mac });
  try {
    await h.setMaster(veth.index, o.bridgeIndex);
    await h.setUp(veth.index);
  } catch (err) {
    await h.deleteLink(o.hostVeth).catch(() => undefined);
    throw err;
  }
}
