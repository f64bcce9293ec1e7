/** Routes inside a sandbox that every L3-gateway driver (bridge, macvlan, ipvlan l2) sets the same way. */
import { ConflictError, InvalidArgumentError } from '../errors';
import { splitCidr } from '../kernel/addr';
import type { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network } from '../model';
import type { JoinOptions } from './driver';

/** The network's gateway of one family, if it has one. */
export function gatewayOf(net: Pick<Network, 'ipam'>, fam: 4 | 6): string | undefined {
  return net.ipam.find((p) => p.gateway && splitCidr(p.subnet).family === fam)?.gateway;
}

/** A concurrent join of the same sandbox may have set the route first: keep it rather than fail. */
const tolerateExisting = (err: unknown) => {
  if (!(err instanceof ConflictError)) throw err;
};

/**
 * Default routes (per family, when the controller gives this network that family's default) and
 * the extra routes a face asked for; internal networks have no way out, so no default route
 * through them (as Docker). With `onLink`, default routes go straight out of the interface (ipvlan l3).
 */
export async function addRoutes(
  s: NetlinkHandle,
  oif: number,
  ep: Endpoint,
  o: JoinOptions & { gateway?: string; gateway6?: string; internal: boolean; onLink?: boolean },
): Promise<void> {
  if (!o.internal) {
    if (o.defaultRoute && ep.ipv4 && (o.gateway || o.onLink)) await s.addRoute({ gateway: o.onLink ? undefined : o.gateway, oif }).catch(tolerateExisting);
    if (o.defaultRoute6 && ep.ipv6 && (o.gateway6 || o.onLink)) await s.addRoute({ dst: '::/0', gateway: o.onLink ? undefined : o.gateway6, oif }).catch(tolerateExisting);
  }
  for (const r of o.routes ?? []) {
    const fam = splitCidr(r.dst).family;
    if (!(fam === 4 ? ep.ipv4 : ep.ipv6)) throw new InvalidArgumentError(`route ${r.dst}: interface ${ep.ifname} has no IPv${fam} address`);
    const gateway = r.gateway ?? (fam === 4 ? o.gateway : o.gateway6);
    const isDefault = r.dst.endsWith('/0');
    // A default route the sandbox already has is kept (CNI: plugins must be "prepared to skip" it).
    await s.addRoute({ dst: isDefault && fam === 4 ? undefined : r.dst, gateway: o.onLink ? r.gateway : gateway, oif }).catch(isDefault ? tolerateExisting : (e) => { throw e; });
  }
}
