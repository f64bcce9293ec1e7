/**
 * DnsRecords: the in-memory name index behind the embedded resolver. The controller feeds it one
 * entry per endpoint; it answers as a DnsBackend, only across networks requester and target share.
 */
import { InvalidArgumentError } from '../errors';
import { bufferToIp, family, ipToBuffer } from '../kernel/addr';
import { type DnsBackend, type LookupResult, type Requester, requesterKey } from './backend';

/** What one endpoint contributes: the sandbox's names on one network and its addresses there. */
export interface DnsEntry {
  endpointId: string;
  networkId: string;
  sandboxId: string;
  /** Sandbox (container) name, resolvable on this network. */
  name: string;
  /** Network-scoped aliases (--network-alias), resolvable on this network only. */
  aliases: string[];
  /** Address on this network, without prefix length (a CIDR is accepted and its prefix dropped). */
  ipv4?: string;
  ipv6?: string;
}

/** Facts about a network that change how its members are answered. */
export interface DnsNetworkInfo {
  /** Network name, for "sandbox.network" lookups and PTR answers ("web.mynet"). */
  name?: string;
  /** Internal networks give no outside access, so their members' queries are never forwarded. */
  internal?: boolean;
  /** A domain members also answer under: "srv.dns.podman" as "srv" (aardvark's search domain). */
  domain?: string;
  /** Per-network upstream servers (aardvark's network_dns_servers), before the host's. */
  upstreams?: string[];
}

/** One indexed endpoint. */
interface Rec {
  readonly key: string;
  readonly networkId: string;
  readonly sandboxId: string;
  readonly name: string;
  /** Normalised names it answers to on its network: name, aliases, short id. */
  readonly names: string[];
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/** Docker resolves a container by the first 12 hex digits of its id. */
const SHORT_ID_LEN = 12;
/** A DNS label: printable ASCII without dots or spaces, 1–63 bytes. */
const LABEL_RE = /^[\x21-\x2d\x2f-\x7e]{1,63}$/;
/** Rotation counters kept before they are reset (one per multi-address name and requester). */
const MAX_TURNS = 10_000;

/** Lowercase without one trailing dot: how names are compared (DNS is case-insensitive). */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Throws unless name is usable as a DNS name; returns it normalised. */
function validName(what: string, name: string): string {
  const n = normalizeName(name);
  if (!n || n.length > 253 || !n.split('.').every((l) => LABEL_RE.test(l))) {
    throw new InvalidArgumentError(`invalid DNS ${what} "${name}": labels must be 1–63 printable characters, 253 in all`);
  }
  return n;
}

/** Canonical text of an address of the family (so "::0:1" and "::1" meet); undefined when it is not one. */
function canonicalIp(ip: string | undefined, fam?: 4 | 6): string | undefined {
  if (!ip) return undefined;
  const bare = ip.includes('/') ? ip.slice(0, ip.indexOf('/')) : ip;
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
  const plain = bare.toLowerCase().startsWith('::ffff:') && family(bare.slice(7)) === 4 ? bare.slice(7) : bare;
  const f = family(plain);
  if (!f || (fam && f !== fam)) return undefined;
  return f === 4 ? plain : bufferToIp(ipToBuffer(plain));
}

/** Adds rec under key of a multimap. */
function addTo(map: Map<string, Set<Rec>>, key: string | undefined, rec: Rec): void {
  if (key === undefined) return;
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(rec);
}

/** Removes rec from key of a multimap, dropping empty sets. */
function removeFrom(map: Map<string, Set<Rec>>, key: string | undefined, rec: Rec): void {
  if (key === undefined) return;
  const set = map.get(key);
  if (set?.delete(rec) && set.size === 0) map.delete(key);
}

/** Distinct values, first occurrence order. */
function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

/** The embedded resolver's name index; implements DnsBackend. Not persisted: the controller re-feeds it on start. */
export class DnsRecords implements DnsBackend {
  private readonly recs = new Map<string, Rec>();
  private readonly byName = new Map<string, Set<Rec>>();
  private readonly bySandbox = new Map<string, Set<Rec>>();
  private readonly byIp = new Map<string, Set<Rec>>();
  private readonly networks = new Map<string, DnsNetworkInfo>();
  private readonly sandboxUpstreams = new Map<string, string[]>();
  private readonly turns = new Map<string, number>();
  private hostServers: string[];
  private gen = 0;

  /** hostUpstreams: where names nobody on tsnet knows go (hostUpstreams() of the host's resolv.conf). */
  constructor(opts: { hostUpstreams?: string[] } = {}) {
    this.hostServers = [...(opts.hostUpstreams ?? [])];
  }

  /** Bumped on every change. */
  get generation(): number {
    return this.gen;
  }

  /** Adds or replaces the entry of endpoint entry.endpointId on networkId. */
  add(networkId: string, entry: DnsEntry): void {
    if (entry.networkId !== networkId) {
      throw new InvalidArgumentError(`dns entry for endpoint ${entry.endpointId}: network ${entry.networkId} given for network ${networkId}`);
    }
    if (!entry.endpointId || !entry.sandboxId) throw new InvalidArgumentError(`dns entry for "${entry.name}": endpointId and sandboxId are required`);
    const ipv4 = canonicalIp(entry.ipv4, 4);
    const ipv6 = canonicalIp(entry.ipv6, 6);
    if (entry.ipv4 && !ipv4) throw new InvalidArgumentError(`dns entry for "${entry.name}": invalid IPv4 address "${entry.ipv4}"`);
    if (entry.ipv6 && !ipv6) throw new InvalidArgumentError(`dns entry for "${entry.name}": invalid IPv6 address "${entry.ipv6}"`);
    const names = [validName('name', entry.name), ...entry.aliases.map((a) => validName('alias', a))];
    if (new RegExp(`^[0-9a-f]{${SHORT_ID_LEN}}`, 'i').test(entry.sandboxId)) names.push(entry.sandboxId.slice(0, SHORT_ID_LEN).toLowerCase());
    const key = `${networkId}\0${entry.endpointId}`;
    this.drop(key);
    const rec: Rec = { key, networkId, sandboxId: entry.sandboxId, name: entry.name.replace(/\.$/, ''), names: unique(names), ipv4, ipv6 };
    this.recs.set(key, rec);
    for (const n of rec.names) addTo(this.byName, n, rec);
    addTo(this.bySandbox, rec.sandboxId, rec);
    addTo(this.byIp, ipv4, rec);
    addTo(this.byIp, ipv6, rec);
    this.changed();
  }

  /** Removes the entry of endpointId on networkId; false when there was none. */
  remove(networkId: string, endpointId: string): boolean {
    const found = this.drop(`${networkId}\0${endpointId}`);
    if (found) this.changed();
    return found;
  }

  /** Forgets every entry, network and sandbox setting (for a full re-feed); host upstreams stay. */
  clear(): void {
    for (const m of [this.recs, this.byName, this.bySandbox, this.byIp, this.networks, this.sandboxUpstreams]) m.clear();
    this.changed();
  }

  /** Sets what is known about a network (name, internal flag, upstreams); replaces earlier info. */
  setNetwork(networkId: string, info: DnsNetworkInfo): void {
    if (info.name !== undefined) validName('network name', info.name);
    if (info.domain !== undefined) validName('network domain', info.domain);
    this.networks.set(networkId, { ...info, upstreams: info.upstreams && [...info.upstreams] });
    this.changed();
  }

  /** Forgets a network: its info and every entry on it. */
  removeNetwork(networkId: string): void {
    this.networks.delete(networkId);
    for (const rec of [...this.recs.values()]) if (rec.networkId === networkId) this.drop(rec.key);
    this.changed();
  }

  /** Sets a sandbox's own upstreams (--dns), which win over network and host ones; undefined or [] removes them. */
  setSandboxUpstreams(sandboxId: string, servers: string[] | undefined): void {
    if (servers?.length) this.sandboxUpstreams.set(sandboxId, [...servers]);
    else this.sandboxUpstreams.delete(sandboxId);
    this.changed();
  }

  /** Replaces the host's upstreams (after the host's resolv.conf changed). */
  setHostUpstreams(servers: string[]): void {
    this.hostServers = [...servers];
    this.changed();
  }

  /** @inheritdoc */
  lookup(requester: Requester, name: string, fam: 4 | 6): LookupResult {
    const nets = this.networksOf(requester);
    if (nets.size === 0) return { ips: [], authoritative: false };
    const n = normalizeName(name);
    let targets = this.matching(n, nets);
    if (targets.length === 0) targets = this.matchingQualified(n, nets);
    if (targets.length === 0) return { ips: [], authoritative: false };
    const ips = unique(targets.map((r) => (fam === 4 ? r.ipv4 : r.ipv6)).filter((ip): ip is string => !!ip));
    return { ips: this.rotate(`${requesterKey(requester)}|${n}|${fam}`, ips), authoritative: true };
  }

  /** @inheritdoc */
  reverse(requester: Requester, ip: string): string[] {
    const canon = canonicalIp(ip);
    const nets = this.networksOf(requester);
    const names: string[] = [];
    for (const rec of (canon && this.byIp.get(canon)) || []) {
      if (!nets.has(rec.networkId)) continue;
      // Docker answers PTR with "container.network", which names the network the address is on.
      const netName = this.networks.get(rec.networkId)?.name;
      names.push(netName ? `${rec.name}.${netName}` : rec.name);
    }
    return unique(names);
  }

  /** @inheritdoc */
  upstreams(requester: Requester): string[] {
    if (this.isInternal(requester)) return [];
    for (const sandboxId of this.sandboxesOf(requester)) {
      const own = this.sandboxUpstreams.get(sandboxId);
      if (own) return [...own];
    }
    const fromNetworks: string[] = [];
    for (const netId of this.networksOf(requester)) {
      const info = this.networks.get(netId);
      if (!info?.internal) fromNetworks.push(...(info?.upstreams ?? []));
    }
    return fromNetworks.length ? unique(fromNetworks) : [...this.hostServers];
  }

  /** @inheritdoc An unknown requester counts as internal: strangers get no forwarding. */
  isInternal(requester: Requester): boolean {
    for (const netId of this.networksOf(requester)) if (!this.networks.get(netId)?.internal) return false;
    return true;
  }

  /** The entries of the requester: its sandbox's endpoints, or the endpoints holding its address. */
  private recsOf(requester: Requester): Iterable<Rec> {
    if ('sandboxId' in requester) return this.bySandbox.get(requester.sandboxId) ?? [];
    const ip = canonicalIp(requester.ip);
    return (ip && this.byIp.get(ip)) || [];
  }

  private networksOf(requester: Requester): Set<string> {
    const nets = new Set<string>();
    for (const rec of this.recsOf(requester)) nets.add(rec.networkId);
    return nets;
  }

  private sandboxesOf(requester: Requester): string[] {
    if ('sandboxId' in requester) return [requester.sandboxId];
    return unique([...this.recsOf(requester)].map((r) => r.sandboxId));
  }

  /** Entries answering to name on the shared networks (or on onlyNetwork). */
  private matching(name: string, nets: Set<string>, onlyNetwork?: string): Rec[] {
    const out: Rec[] = [];
    for (const rec of this.byName.get(name) ?? []) {
      if (nets.has(rec.networkId) && (onlyNetwork === undefined || rec.networkId === onlyNetwork)) out.push(rec);
    }
    return out;
  }

  /** Docker's "name.network" form (the name on the one shared network of that name), or "name.domain" on a network with that domain. */
  private matchingQualified(name: string, nets: Set<string>): Rec[] {
    for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
      const suffix = name.slice(dot + 1);
      for (const netId of nets) {
        const info = this.networks.get(netId);
        if ((info?.name && normalizeName(info.name) === suffix) || (info?.domain && normalizeName(info.domain) === suffix)) {
          const found = this.matching(name.slice(0, dot), nets, netId);
          if (found.length) return found;
        }
      }
    }
    return [];
  }

  /** Round-robin: each call starts one address later, so clients spread over same-named sandboxes. */
  private rotate(key: string, ips: string[]): string[] {
    if (ips.length < 2) return ips;
    if (this.turns.size >= MAX_TURNS) this.turns.clear();
    const turn = (this.turns.get(key) ?? 0) % ips.length;
    this.turns.set(key, turn + 1);
    return [...ips.slice(turn), ...ips.slice(0, turn)];
  }

  private drop(key: string): boolean {
    const rec = this.recs.get(key);
    if (!rec) return false;
    this.recs.delete(key);
    for (const n of rec.names) removeFrom(this.byName, n, rec);
    removeFrom(this.bySandbox, rec.sandboxId, rec);
    removeFrom(this.byIp, rec.ipv4, rec);
    removeFrom(this.byIp, rec.ipv6, rec);
    return true;
  }

  private changed(): void {
    this.gen++;
    this.turns.clear();
  }
}
