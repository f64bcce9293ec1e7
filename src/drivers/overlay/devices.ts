/**
 * Where one overlay network's data path lives on a host. As Docker's overlay, every network gets
 * its own network namespace holding a bridge and a VXLAN device per subnet: the VXLAN device is
 * made in the host namespace (its UDP socket stays there, on the underlay) and then moved in.
 * Bridged frames between sandboxes then never cross the host's firewall hooks and conntrack
 * (br_netfilter is per namespace), and no route or rule of the host can reach the network.
 */
import { netnsPath } from '../../kernel/netns';

/** Device names of one overlay subnet's data path (inside the network's namespace): bridge and VXLAN device, by VNI (they fit IFNAMSIZ up to 2^24). */
export const overlayDevices = (vni: number) => ({ bridge: `ov${vni}`, vxlan: `vx${vni}` });

/** Name prefix of the overlay namespaces in the namespace directory. */
export const OVERLAY_NETNS_PREFIX = 'tsnet-ov-';

/** The namespace holding network netId's data path on this host. */
export const overlayNetns = (netId: string): string => netnsPath(`${OVERLAY_NETNS_PREFIX}${netId.slice(0, 12)}`);

/** The VNI of a VXLAN device name made by overlayDevices, or undefined for another name. */
export function vniOfDevice(name: string): number | undefined {
  const m = /^vx(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
