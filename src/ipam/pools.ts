/**
 * Default address pools and overlap checks (libnetwork ipamutils + the bridge driver's route check):
 * which subnets a network gets when the user names none, and why a subnet cannot be used.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors';
import { bigIntToIp, bufferToIp, overlaps } from '../kernel/addr';
import { familyName, toSubnet, type Subnet } from './range';

/** Docker's local default pools, in order: 172.17–172.31 as whole /16s, then 192.168.0.0/16 in /20s. */
export const DEFAULT_LOCAL_POOLS: readonly string[] = [
  ...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
];

/** Docker's global (swarm/overlay) default pools: 10.0.0.0/8 in /24s, in order. */
export function* globalV4Candidates(): Generator<string> {
  for (let i = 0; i < 65536; i++) yield `10.${i >> 8}.${i & 255}.0/24`;
}

/** Prefix length of a default IPv6 pool: one /64 per network, as Docker's fd00::/8 default. */
export const ULA_PREFIX = 64;

/** How many hash-derived ULA /64s to try before giving up; a collision is already ~2^-56. */
export const ULA_ATTEMPTS = 64;

/** A base subnet cut into subnets of size bits (daemon.json's default-address-pools entry). */
export interface LocalPool {
  base: string;
  size: number;
}

/** The subnets of the pools of one family, in order: each base cut into `size` subnets, as ipamutils does. */
export function* configuredCandidates(pools: readonly LocalPool[], fam: 4 | 6): Generator<string> {
  for (const p of pools) {
    const base = toSubnet(p.base);
    if (base.family !== fam) continue;
    const bits = fam === 4 ? 32 : 128;
    const step = 1n << BigInt(bits - p.size);
    const count = 1n << BigInt(p.size - base.prefix);
    for (let i = 0n; i < count; i++) yield `${bigIntToIp(base.base + i * step, fam)}/${p.size}`;
  }
}

/**
 * The IPv4 candidates in the order to try them: defaultPool first (once), then the configured pools
 * (daemon.json's default-address-pools) or, without any, Docker's list.
 */
export function* v4Candidates(defaultPool?: Subnet, pools?: readonly LocalPool[]): Generator<string> {
  if (defaultPool?.family === 4) yield defaultPool.cidr;
  const configured = pools?.some((p) => toSubnet(p.base).family === 4);
  for (const c of configured ? configuredCandidates(pools!, 4) : DEFAULT_LOCAL_POOLS) if (c !== defaultPool?.cidr) yield c;
}

/**
 * The attempt-th ULA /64 for owner (RFC 4193 layout: fd, 40-bit global id, 16-bit subnet id),
 * derived from a hash so a network keeps the same subnet across re-creation on any host.
 */
export function ulaCandidate(owner: string, attempt: number): string {
  const digest = createHash('sha256').update(`${owner}\0${attempt}`).digest();
  const bytes = Buffer.alloc(16);
  bytes[0] = 0xfd;
  digest.copy(bytes, 1, 0, 7);
  return `${bufferToIp(bytes)}/${ULA_PREFIX}`;
}

/** The IPv6 candidates: defaultPool first when it is v6, then the configured IPv6 pools, else the owner's ULA sequence. */
export function* v6Candidates(owner: string, defaultPool?: Subnet, pools?: readonly LocalPool[]): Generator<string> {
  if (defaultPool?.family === 6) yield defaultPool.cidr;
  if (pools?.some((p) => toSubnet(p.base).family === 6)) {
    yield* configuredCandidates(pools, 6);
    return;
  }
  for (let i = 0; i < ULA_ATTEMPTS; i++) yield ulaCandidate(owner, i);
}

/** An existing pool as the overlap check sees it. */
export interface TakenSubnet {
  subnet: string;
  ownerName: string;
}

/** Why a subnet cannot be used: another network has it, or the host already routes it. */
export type Overlap = { kind: 'network'; ownerName: string; subnet: string } | { kind: 'route'; route: string };

/**
 * Host routes that can collide with a pool, canonicalised. Default routes (0.0.0.0/0, ::/0) cover
 * everything and say nothing about local use, so they are ignored; /32 and /128 routes still count.
 */
export function relevantRoutes(hostRoutes: string[]): Subnet[] {
  return hostRoutes.map((r) => toSubnetOrThrow(r)).filter((r) => r.prefix > 0);
}

function toSubnetOrThrow(route: string): Subnet {
  try {
    return toSubnet(route);
  } catch (err) {
    // A route list comes from netlink; a bad entry is a bug upstream, not a reason to guess.
    throw new InvalidArgumentError(`invalid host route "${route}"`, { cause: err });
  }
}

/** The first reason subnet collides with a taken pool or a host route, or undefined when it is free. */
export function findOverlap(subnet: Subnet, taken: TakenSubnet[], routes: Subnet[]): Overlap | undefined {
  for (const p of taken) {
    if (overlaps(subnet.cidr, p.subnet)) return { kind: 'network', ownerName: p.ownerName, subnet: p.subnet };
  }
  const route = routes.find((r) => overlaps(subnet.cidr, r.cidr));
  return route && { kind: 'route', route: route.cidr };
}

/** The user-facing wording of an overlap, naming both sides. */
export function overlapMessage(subnet: Subnet, o: Overlap): string {
  return o.kind === 'network'
    ? `subnet ${subnet.cidr} overlaps network "${o.ownerName}" (${o.subnet})`
    : `subnet ${subnet.cidr} overlaps route ${o.route} on the host`;
}

/** Docker's wording when every default pool of a family is taken. */
export function noDefaultPoolMessage(fam: 4 | 6): string {
  return `could not find an available, non-overlapping ${familyName(fam)} address pool among the defaults to assign to the network`;
}
