/**
 * What `connect --link-local-ip` and `--driver-opt` add to an endpoint, driver-independent: extra
 * addresses on the sandbox interface (libnetwork's llAddrs: /16 for IPv4, /64 for IPv6) and the
 * endpoint options Docker 27 reads for every driver (interface name, per-interface sysctls).
 */
import { InvalidArgumentError } from '../errors';
import { family } from '../kernel/addr';
import { setSysctl } from '../kernel/sysctl';
import type { SandboxHandle } from '../drivers/driver';

/** Docker's endpoint option naming the interface inside the container. */
export const ENDPOINT_IFNAME = 'com.docker.network.endpoint.ifname';
/** Docker's endpoint option of per-interface sysctls: "net.ipv4.conf.IFNAME.forwarding=1,…". */
export const ENDPOINT_SYSCTLS = 'com.docker.network.endpoint.sysctls';
const KNOWN = [ENDPOINT_IFNAME, ENDPOINT_SYSCTLS];
/** The placeholder Docker replaces with the interface name in ENDPOINT_SYSCTLS keys. */
const IFNAME = 'IFNAME';

/** Per-interface sysctls of ENDPOINT_SYSCTLS, checked: only net.{ipv4,ipv6,mpls}.conf.IFNAME.* keys, as Docker allows. */
export function endpointSysctls(value: string): [string, string][] {
  return value.split(',').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    const key = i > 0 ? kv.slice(0, i) : '';
    if (!/^net\.(ipv4|ipv6|mpls)\.conf\.IFNAME\.[a-z0-9_]+$/.test(key)) throw new InvalidArgumentError(`--driver-opt ${ENDPOINT_SYSCTLS}: "${kv}": expected net.ipv4.conf.IFNAME.<name>=<value> (or ipv6, mpls)`);
    return [key, kv.slice(i + 1)];
  });
}

/** Checks --link-local-ip and --driver-opt before anything is allocated; returns the interface name the options ask for. */
export function checkEndpointOptions(o: { linkLocalIps?: string[]; driverOpts?: Record<string, string>; ifname?: string }): string | undefined {
  for (const ip of o.linkLocalIps ?? []) if (!family(ip)) throw new InvalidArgumentError(`--link-local-ip ${ip}: not an IP address`);
  const opts = o.driverOpts ?? {};
  for (const key of Object.keys(opts)) if (!KNOWN.includes(key)) throw new InvalidArgumentError(`--driver-opt ${key}: unknown endpoint option; known: ${KNOWN.join(', ')}`);
  if (opts[ENDPOINT_SYSCTLS] !== undefined) endpointSysctls(opts[ENDPOINT_SYSCTLS]);
  const ifname = opts[ENDPOINT_IFNAME];
  if (ifname !== undefined && o.ifname !== undefined && ifname !== o.ifname) throw new InvalidArgumentError(`--driver-opt ${ENDPOINT_IFNAME}=${ifname} conflicts with interface name ${o.ifname}`);
  return ifname ?? o.ifname;
}

/** Adds the link-local addresses and writes the per-interface sysctls, in the sandbox, on the endpoint's interface. */
export async function applyEndpointOptions(handle: SandboxHandle, ifname: string, o: { linkLocalIps?: string[]; driverOpts?: Record<string, string> }): Promise<void> {
  if (!o.linkLocalIps?.length && o.driverOpts?.[ENDPOINT_SYSCTLS] === undefined) return;
  const link = await handle.netlink.mustGetLink(ifname);
  for (const ip of o.linkLocalIps ?? []) await handle.netlink.addAddr(link.index, `${ip}/${family(ip) === 6 ? 64 : 16}`);
  for (const [key, value] of endpointSysctls(o.driverOpts?.[ENDPOINT_SYSCTLS] ?? '')) setSysctl(key.replace(IFNAME, ifname), value, handle.key);
}
