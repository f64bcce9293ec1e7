/**
 * Declarative rule model: what the firewall must express for the tsnet base, a network and an
 * endpoint's published ports, independent of iptables or nftables syntax. The backends render it.
 */
import { createHash } from 'node:crypto';
import { ConflictError, InvalidArgumentError, UnsupportedError } from '../errors';
import { bufferToIp, canonicalSubnet, family, ipToBuffer, splitCidr } from '../kernel/addr';
import type { PortBinding, Protocol } from '../model';
import { CHAIN_NETWORK_PREFIX, NETWORK_HASH_LEN } from './constants';

/** A bridge network as the firewall sees it (what the controller passes to setupNetwork). */
export interface FirewallNetwork {
  id: string;
  name: string;
  /** Bridge device name. */
  bridge: string;
  /** Canonical CIDRs, v4 and/or v6. */
  subnets: string[];
  /** No outside connectivity: nothing enters or leaves the bridge from/to other interfaces. */
  internal: boolean;
  /** Masquerade traffic leaving the network (the driver decides from its options). */
  masquerade: boolean;
  /** Sandboxes of the network may talk to each other (inter-container communication). */
  icc: boolean;
}

/** An endpoint whose ports are published (hostPort already chosen). */
export interface FirewallEndpoint {
  id: string;
  networkId: string;
  bridge: string;
  /** Container addresses without prefix length. */
  ipv4?: string;
  ipv6?: string;
  ports: PortBinding[];
}

/** IP family of a rule. */
export type Family = 4 | 6;

/** Both families, in the order batches are applied. */
export const FAMILIES: readonly Family[] = [4, 6];

/** A network's rules in backend-neutral form. */
export interface NetworkRules {
  hash: string;
  bridge: string;
  subnets: Record<Family, string[]>;
  internal: boolean;
  masquerade: boolean;
  icc: boolean;
}

/** One published port for one family: host address (or any) → container address. */
export interface PortRule {
  family: Family;
  /** Host address, or '' for every address of the family. */
  hostIp: string;
  protocol: Protocol;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  /** Hash of the owning network (names its per-network chain). */
  networkHash: string;
  bridge: string;
}

/** Everything one change contributes; `base` asks for tsnet's shared chains/table. */
export interface RuleSet {
  base: boolean;
  networks: NetworkRules[];
  ports: PortRule[];
}

/**
 * How a chain is torn down (varktables' teardown policy): with its network, when the last network
 * goes, or — for the operators' chain — only when nobody put rules into it; a port bucket goes as
 * soon as its last rule does (or with the last network).
 */
export type TeardownPolicy = 'withNetwork' | 'onComplete' | 'whenEmpty' | 'whenEmptied';

/** Who a batch is for, written into the batch header so a traced batch says whose it is. */
export type Owner = string;

/** The 13-hex hash of a network id that names its per-network chain (netavark's create_network_hash). */
export function networkHash(networkId: string): string {
  return createHash('sha256').update(networkId).digest('hex').slice(0, NETWORK_HASH_LEN);
}

/** Per-network chain name: TSNET-<hash>, 19 characters, well under the 28 iptables allows. */
export function networkChain(hash: string): string {
  return CHAIN_NETWORK_PREFIX + hash;
}

/** Owner label of a network's rules. */
export function networkOwner(id: string): Owner {
  return `network:${networkHash(id)}`;
}

/** Owner label of an endpoint's published ports. */
export function endpointOwner(id: string): Owner {
  return `endpoint:${id}`;
}

// iptables treats a trailing '+' as a wildcard and nft strings need no quoting for these: so allow
// only what the bridge driver generates or a user can sensibly name a bridge.
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Throws unless name is a safe interface name (IFNAMSIZ, no wildcard or quoting characters). */
export function validateBridgeName(name: string): string {
  if (!IFNAME.test(name)) throw new InvalidArgumentError(`bridge name "${name}": must be 1-15 characters of A-Z a-z 0-9 _ . -`);
  return name;
}

/** Canonical text of an address (lower-case, RFC 5952), so rendered rules match the kernel's listing. */
export function canonicalIp(ip: string): string {
  const bare = ip.includes('/') ? ip.slice(0, ip.indexOf('/')) : ip;
  if (!family(bare)) throw new InvalidArgumentError(`address "${ip}": not an IP address`);
  return bufferToIp(ipToBuffer(bare));
}

/** A network's rules: subnets split by family and canonicalised. */
export function networkRules(net: FirewallNetwork): NetworkRules {
  validateBridgeName(net.bridge);
  const subnets: Record<Family, string[]> = { 4: [], 6: [] };
  for (const s of net.subnets) {
    let fam: Family;
    try {
      fam = splitCidr(s).family;
    } catch (err) {
      throw new InvalidArgumentError(`network ${net.name}: subnet "${s}" is not a CIDR`, { cause: err });
    }
    subnets[fam].push(canonicalSubnet(s));
  }
  return { hash: networkHash(net.id), bridge: net.bridge, subnets, internal: net.internal, masquerade: net.masquerade, icc: net.icc };
}

/** The families a host address covers: '' is every family the container has an address in. */
function familiesOf(b: PortBinding, ep: FirewallEndpoint): { family: Family; hostIp: string }[] {
  const have = FAMILIES.filter((f) => (f === 4 ? ep.ipv4 : ep.ipv6));
  if (b.hostIp === '') return have.map((f) => ({ family: f, hostIp: '' }));
  const fam = family(b.hostIp);
  if (!fam) throw new InvalidArgumentError(`port ${b.hostPort}/${b.protocol}: host address "${b.hostIp}" is not an IP address`);
  if (!have.includes(fam)) throw new InvalidArgumentError(`port ${b.hostIp}:${b.hostPort}/${b.protocol}: endpoint ${ep.id} has no IPv${fam} address`);
  const ip = canonicalIp(b.hostIp);
  // The kernel never routes ::1 off lo, so only a userland proxy could serve it; tsnet publishes with DNAT alone.
  if (ip === '::1') throw new UnsupportedError(`port [::1]:${b.hostPort}/${b.protocol}: publishing on IPv6 loopback needs a userland proxy`);
  // 0.0.0.0 and :: mean every address of their family, as in Docker.
  return [{ family: fam, hostIp: ip === '0.0.0.0' || ip === '::' ? '' : ip }];
}

function checkPort(what: string, port: number, ep: FirewallEndpoint): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`endpoint ${ep.id}: ${what} ${port} is not in 1-65535`);
}

/** The port rules of an endpoint: one per binding and family, de-duplicated, validated. */
export function portRules(ep: FirewallEndpoint): PortRule[] {
  validateBridgeName(ep.bridge);
  const hash = networkHash(ep.networkId);
  const byKey = new Map<string, PortRule>();
  for (const b of ep.ports) {
    checkPort('host port', b.hostPort, ep);
    checkPort('container port', b.containerPort, ep);
    if (!['tcp', 'udp', 'sctp'].includes(b.protocol)) throw new InvalidArgumentError(`endpoint ${ep.id}: unknown protocol "${b.protocol}"`);
    for (const { family: fam, hostIp } of familiesOf(b, ep)) {
      const containerIp = canonicalIp(fam === 4 ? ep.ipv4! : ep.ipv6!);
      const rule: PortRule = { family: fam, hostIp, protocol: b.protocol, hostPort: b.hostPort, containerIp, containerPort: b.containerPort, networkHash: hash, bridge: ep.bridge };
      const key = portKey(rule);
      const prev = byKey.get(key);
      if (prev && prev.containerPort !== rule.containerPort) {
        throw new ConflictError(`bind for ${hostLabel(rule)} failed: port is already allocated`);
      }
      byKey.set(key, rule);
    }
  }
  return [...byKey.values()];
}

/** Identity of a host-side binding: family, host address, protocol, host port. */
export function portKey(r: { family: Family; hostIp: string; protocol: Protocol; hostPort: number }): string {
  return `${r.family}|${r.hostIp}|${r.protocol}|${r.hostPort}`;
}

/** "0.0.0.0:8080/tcp" style label of a binding's host side, for messages. */
export function hostLabel(r: { family: Family; hostIp: string; protocol: Protocol; hostPort: number }): string {
  const ip = r.hostIp || (r.family === 4 ? '0.0.0.0' : '::');
  return `${r.family === 6 ? `[${ip}]` : ip}:${r.hostPort}/${r.protocol}`;
}

/** The families a rule set touches (a v4-only change needs no ip6tables run). */
export function familiesOfRules(rules: RuleSet): Family[] {
  return FAMILIES.filter((f) => rules.networks.some((n) => n.subnets[f].length > 0) || rules.ports.some((p) => p.family === f));
}
