/**
 * Range math for IPAM (host-local's range.go): strict parsing, the allocatable span of a subnet,
 * wrap-around stepping. Pure; builds on kernel/addr's bigint helpers rather than new CIDR code.
 */
import { InvalidArgumentError } from '../errors';
import { bigIntToIp, family, ipToBigInt, networkOf, splitCidr } from '../kernel/addr';

/** A canonical subnet with its numbers precomputed. */
export interface Subnet {
  /** Canonical text, e.g. "172.25.0.0/16". */
  cidr: string;
  family: 4 | 6;
  prefix: number;
  base: bigint;
  size: bigint;
}

/** An inclusive span of allocatable addresses; empty when first > last. */
export interface AddrRange {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

/** Longest prefix that still holds a gateway and one host (Docker refuses /31 and /32 too). */
export const MAX_PREFIX: Record<4 | 6, number> = { 4: 30, 6: 126 };

/** "IPv4" or "IPv6", as Docker words its messages. */
export function familyName(fam: 4 | 6): string {
  return fam === 4 ? 'IPv4' : 'IPv6';
}

/**
 * Parses "addr/len" that must already be canonical; `what` names it in errors ("subnet", "ip-range").
 * Host bits set are refused rather than masked, because the user most likely meant something else.
 */
export function parseSubnet(text: string, what: string): Subnet {
  let n: ReturnType<typeof networkOf>;
  try {
    // A bare address would parse as a /32 or /128: never what a user means by a subnet.
    if (!text.includes('/')) throw new Error('no prefix length');
    n = networkOf(text);
  } catch (err) {
    throw new InvalidArgumentError(`invalid ${what} "${text}"`, { cause: err });
  }
  if (ipToBigInt(splitCidr(text).ip) !== n.base) throw new InvalidArgumentError(`invalid ${what} ${text}: host bits set`);
  return { cidr: `${bigIntToIp(n.base, n.family)}/${n.prefix}`, ...n };
}

/** Any CIDR or bare address as a subnet, host bits masked (host routes, stored pools). */
export function toSubnet(cidr: string): Subnet {
  const n = networkOf(cidr);
  return { cidr: `${bigIntToIp(n.base, n.family)}/${n.prefix}`, ...n };
}

/** Parses an IP literal (no prefix) to its canonical text and number; `what` names it in errors. */
export function parseIp(text: string, what: string): { ip: string; value: bigint; family: 4 | 6 } {
  const fam = family(text);
  if (!fam) throw new InvalidArgumentError(`invalid ${what} "${text}"`);
  const value = ipToBigInt(text);
  return { ip: bigIntToIp(value, fam), value, family: fam };
}

/** Canonical text of an address, so one address never has two store keys (fd00:0::5 vs fd00::5). */
export function canonicalIp(ip: string): string {
  return parseIp(ip, 'address').ip;
}

/** Whether the address number lies in subnet (same family assumed by the caller). */
export function inSubnet(s: Subnet, value: bigint): boolean {
  return value >= s.base && value < s.base + s.size;
}

/** Whether inner lies wholly inside outer. */
export function subnetWithin(outer: Subnet, inner: Subnet): boolean {
  return outer.family === inner.family && inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

/** Which edge address of the subnet value is ("network", v4 "broadcast"), if any: neither can be a host. */
export function edgeOf(s: Subnet, value: bigint): 'network' | 'broadcast' | undefined {
  if (value === s.base) return 'network';
  if (s.family === 4 && value === s.base + s.size - 1n) return 'broadcast';
  return undefined;
}

/**
 * The span dynamic allocation draws from: the subnet (or its ipRange) without the network address
 * and, for v4, without the broadcast address. v6 keeps its last address, as Docker does.
 */
export function usableRange(s: Subnet, ipRange?: Subnet): AddrRange {
  const r = ipRange ?? s;
  const subnetLast = s.base + s.size - (s.family === 4 ? 2n : 1n);
  const first = r.base > s.base ? r.base : s.base + 1n;
  const rangeLast = r.base + r.size - 1n;
  return { family: s.family, first, last: rangeLast < subnetLast ? rangeLast : subnetLast };
}

/** Number of addresses in the range (0 when empty). */
export function rangeSize(r: AddrRange): bigint {
  return r.last >= r.first ? r.last - r.first + 1n : 0n;
}

/** The address after value, wrapping to the start; an address outside the range restarts at first. */
export function nextInRange(r: AddrRange, value: bigint): bigint {
  return value < r.first || value >= r.last ? r.first : value + 1n;
}

/** An address number as text of the range's family. */
export function ipOf(fam: 4 | 6, value: bigint): string {
  return bigIntToIp(value, fam);
}
