/**
 * The config's host-local `ipam` section as tsnet IPAM pools. tsnet allocates from its own store
 * (shared with the CLI, so faces never hand out one address twice); a host-local range
 * [rangeStart, rangeEnd] becomes the smallest CIDR block holding it (the pool's ipRange) with the
 * few block addresses outside the range reserved as aux addresses.
 */
import { bigIntToIp, family, type IpamConfig, ipToBigInt, networkOf } from '../../src/index';
import { CniCode, CniError } from './codes';

/** One host-local range. */
export interface CniRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** The `ipam` section, as the schema admits it. */
export interface CniIpam {
  type?: string;
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  ranges?: CniRange[][];
  routes?: { dst: string; gw?: string }[];
  dataDir?: string;
  resolvConf?: string;
}

/** IPAM types whose semantics tsnet's allocator provides; anything else would need that plugin run. */
const IPAM_TYPES = new Set(['host-local', 'tsnet']);
/** Most addresses a range may leave out of its covering block; beyond that the range is refused (code 2). */
export const MAX_EXCLUDED = 256;

const invalid = (msg: string) => new CniError(CniCode.InvalidNetworkConfig, `invalid network config: ${msg}`);
const unsupported = (msg: string) => new CniError(CniCode.UnsupportedField, `unsupported field: ${msg}`);

/** Parses an IP of the given family or throws code 7 naming the field. */
function ipIn(text: string, fam: 4 | 6, what: string): bigint {
  if (family(text) !== fam) throw invalid(`${what} "${text}" is not an IPv${fam} address`);
  return ipToBigInt(text);
}

/** Converts one range to a pool request; host bits of the subnet are masked, as host-local does. */
export function rangeToPool(r: CniRange, where: string): IpamConfig {
  let n: ReturnType<typeof networkOf>;
  try {
    // A bare address would parse as a /32 or /128: never what a subnet means.
    if (!r.subnet.includes('/')) throw new Error('no prefix length');
    n = networkOf(r.subnet);
  } catch {
    throw invalid(`${where}.subnet "${r.subnet}" is not a CIDR`);
  }
  const fam = n.family, bits = fam === 4 ? 32 : 128;
  const usableFirst = n.base + 1n;
  const usableLast = n.base + n.size - (fam === 4 ? 2n : 1n);
  const subnet = `${bigIntToIp(n.base, fam)}/${n.prefix}`;
  const inside = (v: bigint, what: string, text: string) => {
    if (v < n.base || v >= n.base + n.size) throw invalid(`${where}.${what} ${text} is not in subnet ${subnet}`);
    return v;
  };
  const start = r.rangeStart ? inside(ipIn(r.rangeStart, fam, `${where}.rangeStart`), 'rangeStart', r.rangeStart) : usableFirst;
  const end = r.rangeEnd ? inside(ipIn(r.rangeEnd, fam, `${where}.rangeEnd`), 'rangeEnd', r.rangeEnd) : usableLast;
  const gateway = r.gateway ? bigIntToIp(inside(ipIn(r.gateway, fam, `${where}.gateway`), 'gateway', r.gateway), fam) : undefined;
  const first = start > usableFirst ? start : usableFirst;
  const last = end < usableLast ? end : usableLast;
  if (first > last) throw invalid(`${where}: rangeStart ${r.rangeStart ?? ''} is after rangeEnd ${r.rangeEnd ?? ''}`);
  // Longest prefix whose block still holds both ends of the range.
  let prefix = n.prefix;
  while (prefix < bits && first >> BigInt(bits - prefix - 1) === last >> BigInt(bits - prefix - 1)) prefix++;
  const blockSize = 1n << BigInt(bits - prefix);
  const blockBase = first & ~(blockSize - 1n);
  const blockFirst = blockBase > usableFirst ? blockBase : usableFirst;
  const blockLastRaw = blockBase + blockSize - 1n;
  const blockLast = blockLastRaw < usableLast ? blockLastRaw : usableLast;
  const excluded = first - blockFirst + (blockLast - last);
  if (excluded > BigInt(MAX_EXCLUDED)) {
    throw unsupported(`${where} rangeStart/rangeEnd "${r.rangeStart ?? ''}-${r.rangeEnd ?? ''}": leaves ${excluded} addresses of its block ${bigIntToIp(blockBase, fam)}/${prefix} out; tsnet needs a range that is a CIDR block or within ${MAX_EXCLUDED} addresses of one`);
  }
  const aux: Record<string, string> = {};
  // Both host-local and tsnet default the gateway to the first usable address; it is reserved as such, not as aux.
  const effectiveGateway = gateway ?? bigIntToIp(usableFirst, fam);
  const skip = (v: bigint) => {
    const ip = bigIntToIp(v, fam);
    if (ip !== effectiveGateway) aux[`cni-outside-range-${Object.keys(aux).length + 1}`] = ip;
  };
  for (let v = blockFirst; v < first; v++) skip(v);
  for (let v = last + 1n; v <= blockLast; v++) skip(v);
  const pool: IpamConfig = { subnet };
  if (gateway) pool.gateway = gateway;
  if (prefix > n.prefix) pool.ipRange = `${bigIntToIp(blockBase, fam)}/${prefix}`;
  if (Object.keys(aux).length) pool.auxAddresses = aux;
  return pool;
}

/** The pools the ipam section asks for: [] lets tsnet pick a free default subnet. One range per set, one set per family. */
export function ipamPools(ipam: CniIpam | undefined): IpamConfig[] {
  if (!ipam) return [];
  if (ipam.type !== undefined && !IPAM_TYPES.has(ipam.type)) {
    throw unsupported(`ipam.type "${ipam.type}": tsnet allocates addresses itself with host-local semantics (use "host-local")`);
  }
  const sets: CniRange[][] = [];
  // host-local's legacy single-range form comes first, as host-local puts it.
  if (ipam.subnet) sets.push([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  else if (ipam.rangeStart || ipam.rangeEnd || ipam.gateway) throw invalid('ipam.rangeStart, rangeEnd and gateway need ipam.subnet');
  sets.push(...(ipam.ranges ?? []));
  const seen = new Set<number>();
  return sets.map((set, i) => {
    if (set.length !== 1) throw unsupported(`ipam.ranges[${i}] has ${set.length} ranges: tsnet takes one range per range set`);
    const pool = rangeToPool(set[0], `ipam.ranges[${i}][0]`);
    const fam = family(pool.subnet!.split('/')[0]) as 4 | 6;
    if (seen.has(fam)) throw unsupported(`ipam.ranges[${i}]: a second IPv${fam} range set; tsnet gives an interface one address per family`);
    seen.add(fam);
    return pool;
  });
}

/** The routes the config asks for, checked: dst a CIDR, gw an address of the same family. */
export function ipamRoutes(ipam: CniIpam | undefined): { dst: string; gw?: string }[] {
  return (ipam?.routes ?? []).map((r, i) => {
    let fam: 4 | 6;
    try {
      if (!r.dst.includes('/')) throw new Error('no prefix length');
      const n = networkOf(r.dst);
      fam = n.family;
      r = { ...r, dst: `${bigIntToIp(n.base, fam)}/${n.prefix}` };
    } catch {
      throw invalid(`ipam.routes[${i}].dst "${r.dst}" is not a CIDR`);
    }
    if (r.gw !== undefined && family(r.gw) !== fam) throw invalid(`ipam.routes[${i}].gw "${r.gw}" is not an IPv${fam} address`);
    return r;
  });
}
