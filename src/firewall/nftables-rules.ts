/**
 * Pure half of the nftables backend. tsnet owns one `table inet tsnet` whose rules are written once,
 * with the table; networks and published ports are elements of its sets and maps, so setting up a
 * network or publishing a port is an element add and removing it an element delete, never a rule
 * rewrite (and rule lookups stay O(1) however many ports are published). Ports also claim their
 * host port in claims4/claims6, so the kernel refuses every clash inside the publishing batch.
 */
import { contains } from '../kernel/addr';
import type { PublishedPort } from './backend';
import {
  CHAIN_DNAT, CHAIN_FORWARD, CHAIN_ISOLATION_1, CHAIN_POSTROUTING, CHAIN_USER, NFT_CHAIN_OUTPUT, NFT_CHAIN_PREROUTING,
  NFT_CLAIM_ADDRESS, NFT_CLAIM_ANY, NFT_FAMILY, NFT_SET as S, NFT_TABLE,
} from './constants';
import type { Family, NetworkRules, PortRule, RuleSet } from './rules';

const T = `${NFT_FAMILY} ${NFT_TABLE}`;

/** Set and map declarations: name → type (and flags). */
const SETS: [string, string][] = [
  [S.bridges, 'type ifname;'],
  [S.same, 'type ifname . ifname;'],
  [S.iccOff, 'type ifname . ifname;'],
  [S.internal, 'type ifname;'],
  [S.local4, 'type ifname . ipv4_addr; flags interval;'],
  [S.local6, 'type ifname . ipv6_addr; flags interval;'],
  [S.masq4, 'type ipv4_addr; flags interval;'],
  [S.masq6, 'type ipv6_addr; flags interval;'],
  [S.published4, 'type ipv4_addr . inet_proto . inet_service;'],
  [S.published6, 'type ipv6_addr . inet_proto . inet_service;'],
];
const MAPS: [string, string][] = [
  [S.dnat4, 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;'],
  [S.dnat4Any, 'type inet_proto . inet_service : ipv4_addr . inet_service;'],
  [S.dnat6, 'type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;'],
  [S.dnat6Any, 'type inet_proto . inet_service : ipv6_addr . inet_service;'],
  [S.claims4, 'type inet_proto . inet_service : mark;'],
  [S.claims6, 'type inet_proto . inet_service : mark;'],
];

/** Every set and map name, in render order. */
export const ELEMENT_CONTAINERS: string[] = [...SETS, ...MAPS].map(([n]) => n);
const IS_MAP = new Set(MAPS.map(([n]) => n));
/** The DNAT maps: name, family, whether keyed without a host address. */
const DNAT_MAPS = [[S.dnat4, 4, false], [S.dnat4Any, 4, true], [S.dnat6, 6, false], [S.dnat6Any, 6, true]] as const;

const own = `iifname . oifname @${S.same}`;
const notOwn = `iifname . oifname != @${S.same}`;

/** Chains (hook spec or '' for a regular chain) and their rules, written once with the table. */
const CHAINS: [string, string, string[]][] = [
  [CHAIN_USER, '', []],
  [CHAIN_ISOLATION_1, '', [
    `iifname @${S.internal} ${notOwn} drop`,
    `oifname @${S.internal} ${notOwn} drop`,
    // A published port is open to every network: DNAT'd connections (and their replies) skip isolation.
    'ct status dnat return',
    // Docker's second stage is this set lookup: from one tsnet bridge into another.
    `iifname @${S.bridges} oifname @${S.bridges} ${notOwn} drop`,
  ]],
  [CHAIN_FORWARD, 'type filter hook forward priority filter; policy accept;', [
    `jump ${CHAIN_USER}`,
    `jump ${CHAIN_ISOLATION_1}`,
    `oifname @${S.bridges} ct state established,related accept`,
    `iifname . oifname @${S.iccOff} drop`,
    `${own} accept`,
    `oifname @${S.bridges} ct status dnat ip daddr . meta l4proto . th dport @${S.published4} accept`,
    `oifname @${S.bridges} ct status dnat ip6 daddr . meta l4proto . th dport @${S.published6} accept`,
    `iifname @${S.bridges} accept`,
    // Anything else routed into a bridge is unsolicited: only published ports get in.
    `oifname @${S.bridges} drop`,
  ]],
  [CHAIN_DNAT, '', [
    `meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @${S.dnat4}`,
    `meta nfproto ipv4 dnat ip to meta l4proto . th dport map @${S.dnat4Any}`,
    `meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @${S.dnat6}`,
    `meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @${S.dnat6Any}`,
  ]],
  [NFT_CHAIN_PREROUTING, 'type nat hook prerouting priority dstnat; policy accept;', [
    // Loopback destinations only from the host itself (OUTPUT): a neighbour must not reach 127.0.0.1 bindings.
    `fib daddr type local ip daddr != 127.0.0.0/8 jump ${CHAIN_DNAT}`,
    `fib daddr type local ip6 daddr != ::1 jump ${CHAIN_DNAT}`,
  ]],
  // From the host, 127.0.0.0/8 too (route_localnet); ::1 cannot leave lo at all, so v6 loopback is left alone.
  [NFT_CHAIN_OUTPUT, 'type nat hook output priority -100; policy accept;', [
    `fib daddr type local meta nfproto ipv4 jump ${CHAIN_DNAT}`,
    `fib daddr type local ip6 daddr != ::1 jump ${CHAIN_DNAT}`,
  ]],
  [CHAIN_POSTROUTING, 'type nat hook postrouting priority srcnat; policy accept;', [
    // Hairpin and container → host address → container on the same bridge: replies must come back through us.
    `ct status dnat oifname . ip saddr @${S.local4} masquerade`,
    `ct status dnat oifname . ip6 saddr @${S.local6} masquerade`,
    `oifname @${S.bridges} oifname != @${S.internal} ip saddr 127.0.0.0/8 masquerade`,
    `oifname . ip saddr @${S.local4} return`,
    `oifname . ip6 saddr @${S.local6} return`,
    `ip saddr @${S.masq4} masquerade`,
    `ip6 saddr @${S.masq6} masquerade`,
  ]],
];

/** Statements creating the table with its sets, maps, chains and rules. */
export function baseStatements(): string[] {
  return [
    `add table ${T}`,
    ...declarations(ELEMENT_CONTAINERS),
    ...CHAINS.map(([c, hook]) => `add chain ${T} ${c}${hook ? ` { ${hook} }` : ''}`),
    ...CHAINS.flatMap(([c, , rules]) => rules.map((rule) => `add rule ${T} ${c} ${rule}`)),
  ];
}

/** `add set` / `add map` statements for the named containers. */
function declarations(names: string[]): string[] {
  return [...SETS, ...MAPS].filter(([n]) => names.includes(n)).map(([n, t]) => `add ${IS_MAP.has(n) ? 'map' : 'set'} ${T} ${n} { ${t} }`);
}

/** Set/map name → element key → map value ('' for sets). */
export type Elements = Map<string, Map<string, string>>;

const q = (ifname: string) => `"${ifname}"`;
const fam = (f: Family, v4: string, v6: string) => (f === 4 ? v4 : v6);

function put(els: Elements, set: string, key: string, value = ''): void {
  if (!els.has(set)) els.set(set, new Map());
  els.get(set)!.set(key, value);
}

/** A network's elements. */
export function networkElements(n: NetworkRules, els: Elements = new Map()): Elements {
  const b = q(n.bridge);
  put(els, S.bridges, b);
  put(els, S.same, `${b} . ${b}`);
  if (n.internal) put(els, S.internal, b);
  if (!n.icc) put(els, S.iccOff, `${b} . ${b}`);
  if (n.internal) return els;
  for (const f of [4, 6] as Family[]) {
    for (const s of n.subnets[f]) {
      put(els, fam(f, S.local4, S.local6), `${b} . ${s}`);
      if (n.masquerade) put(els, fam(f, S.masq4, S.masq6), s);
    }
  }
  return els;
}

/** A published port's elements: the DNAT map entry, the forward accept and the host port's claim. */
export function portElements(p: PortRule, els: Elements = new Map()): Elements {
  const to = `${p.containerIp} . ${p.containerPort}`;
  if (p.hostIp) put(els, fam(p.family, S.dnat4, S.dnat6), `${p.hostIp} . ${p.protocol} . ${p.hostPort}`, to);
  else put(els, fam(p.family, S.dnat4Any, S.dnat6Any), `${p.protocol} . ${p.hostPort}`, to);
  put(els, fam(p.family, S.published4, S.published6), `${p.containerIp} . ${p.protocol} . ${p.containerPort}`);
  put(els, fam(p.family, S.claims4, S.claims6), `${p.protocol} . ${p.hostPort}`, p.hostIp ? NFT_CLAIM_ADDRESS : NFT_CLAIM_ANY);
  return els;
}

/** The claims DNAT map elements imply: every address wins over single addresses (a clash would have been refused). */
function claimsOf(els: Elements): Elements {
  const out: Elements = new Map();
  for (const [set, f, any] of DNAT_MAPS) {
    const claims = fam(f, S.claims4, S.claims6);
    for (const key of els.get(set)?.keys() ?? []) {
      const port = any ? key : key.slice(key.indexOf(' . ') + 3);
      if (any || out.get(claims)?.get(port) !== NFT_CLAIM_ANY) put(out, claims, port, any ? NFT_CLAIM_ANY : NFT_CLAIM_ADDRESS);
    }
  }
  return out;
}

/** The elements of a that b lacks or holds with another value. */
function minus(a: Elements, b: Elements): Elements {
  const out: Elements = new Map();
  for (const [set, items] of a) for (const [k, v] of items) if (b.get(set)?.get(k) !== v) put(out, set, k, v);
  return out;
}

/** a with b's elements added (b's values win). */
function union(a: Elements, b: Elements): Elements {
  const out: Elements = new Map();
  for (const els of [a, b]) for (const [set, items] of els) for (const [k, v] of items) put(out, set, k, v);
  return out;
}

/** Only the named containers of els. */
function only(els: Elements, names: readonly string[]): Elements {
  return new Map([...els].filter(([n]) => names.includes(n)));
}

const DNAT_NAMES: string[] = DNAT_MAPS.map(([n]) => n);
const CLAIM_NAMES: string[] = [S.claims4, S.claims6];

/** All elements of a rule set. */
export function ruleSetElements(rules: RuleSet): Elements {
  const els: Elements = new Map();
  rules.networks.forEach((n) => networkElements(n, els));
  rules.ports.forEach((p) => portElements(p, els));
  return els;
}

/** `add element` / `delete element` statements, one per set, in declaration order. */
export function elementStatements(op: 'add' | 'delete', els: Elements): string[] {
  return ELEMENT_CONTAINERS.filter((n) => els.get(n)?.size).map((n) => {
    const items = [...els.get(n)!].map(([k, v]) => (v && op === 'add' ? `${k} : ${v}` : k));
    return `${op} element ${T} ${n} { ${items.join(', ')} }`;
  });
}

/** A parsed `nft -j list table inet tsnet`. */
export interface NftSnapshot {
  table: boolean;
  elements: Elements;
  userRules: number;
}

/** The snapshot of a host without the tsnet table. */
export const NO_TABLE: NftSnapshot = { table: false, elements: new Map(), userRules: 0 };

/** The snapshot of a freshly created tsnet table: every set and map, all empty. */
export function emptyTable(): NftSnapshot {
  return { table: true, elements: new Map(ELEMENT_CONTAINERS.map((n) => [n, new Map()])), userRules: 0 };
}

/** The nft -f text for statements; '' when there are none. */
export function batchText(header: string, statements: string[]): string {
  return statements.length ? `# ${header}\n${statements.join('\n')}\n` : '';
}

/**
 * What apply must send: the table if missing (or sets a table from an older tsnet lacks), then
 * element adds (adding an existing element is a no-op), with the claims brought in line with the
 * DNAT maps first (a stale claim would refuse a binding the listing found free).
 */
export function planApply(rules: RuleSet, snap: NftSnapshot): string[] {
  const adds = ruleSetElements(rules);
  if (!snap.table) return [...baseStatements(), ...elementStatements('add', adds)];
  const present = only(snap.elements, CLAIM_NAMES);
  const wanted = claimsOf(union(only(snap.elements, DNAT_NAMES), adds));
  return [
    ...declarations(ELEMENT_CONTAINERS.filter((n) => !snap.elements.has(n))),
    ...elementStatements('delete', minus(present, wanted)),
    ...elementStatements('add', union(adds, minus(wanted, present))),
  ];
}

/**
 * What remove must send: deletes of the present elements equal to rules' (a map element under the
 * same key with another value is someone else's), of port elements left pointing into subnets and
 * of claims no binding holds any more; or the whole table on a full teardown.
 */
export function planRemove(rules: RuleSet, snap: NftSnapshot, subnets: string[]): string[] {
  if (!snap.table) return [];
  if (rules.base && snap.userRules === 0) return [`delete table ${T}`];
  // The operator's TSNET-USER rules stay in force, so the table stays, emptied of tsnet's elements.
  if (rules.base) return ELEMENT_CONTAINERS.filter((n) => snap.elements.has(n)).map((n) => `flush ${IS_MAP.has(n) ? 'map' : 'set'} ${T} ${n}`);
  // Claims are not rules' own: they go when no binding holds their port any more (below).
  const want = only(ruleSetElements(rules), ELEMENT_CONTAINERS.filter((n) => !CLAIM_NAMES.includes(n)));
  const gone: Elements = new Map();
  for (const [set, items] of want) {
    for (const [key, value] of items) if (snap.elements.get(set)?.get(key) === value) put(gone, set, key, value);
  }
  for (const [set, key, value] of orphans(snap, subnets)) put(gone, set, key, value);
  const left = minus(only(snap.elements, DNAT_NAMES), gone);
  const present = only(snap.elements, CLAIM_NAMES);
  return elementStatements('delete', union(gone, minus(present, claimsOf(left))));
}

/** The fast publish batch: every element of ports, the kernel refusing a clash with what is there. */
export function publishStatements(ports: PortRule[]): string[] {
  return elementStatements('add', ruleSetElements({ base: false, networks: [], ports }));
}

/**
 * The fast unpublish batch: each element added then deleted, which removes it when present,
 * changes nothing when absent, and fails the batch when its key holds another value (someone
 * else's binding, left to the listing path). A single-address claim stays while `specific` (the
 * listed dnat4/dnat6 maps) shows another address still bound to the port.
 */
export function unpublishStatements(ports: PortRule[], specific: Elements): string[] {
  const els = ruleSetElements({ base: false, networks: [], ports });
  const mine = only(els, DNAT_NAMES);
  const held = claimsOf(minus(only(specific, DNAT_NAMES), mine));
  for (const name of CLAIM_NAMES) for (const port of held.get(name)?.keys() ?? []) els.get(name)?.delete(port);
  return [...elementStatements('add', els), ...elementStatements('delete', els)];
}

/** Port elements pointing into subnets (ports a crashed run never unpublished). */
function orphans(snap: NftSnapshot, subnets: string[]): [string, string, string][] {
  const out: [string, string, string][] = [];
  const into = (ip: string) => subnets.some((s) => contains(s, ip));
  for (const set of [S.dnat4, S.dnat4Any, S.dnat6, S.dnat6Any]) {
    for (const [k, v] of snap.elements.get(set) ?? []) if (into(v.split(' . ')[0])) out.push([set, k, v]);
  }
  for (const set of [S.published4, S.published6]) {
    for (const [k] of snap.elements.get(set) ?? []) if (into(k.split(' . ')[0])) out.push([set, k, '']);
  }
  return out;
}

/** Published ports in a snapshot. */
export function publishedPorts(snap: NftSnapshot): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [set, f, any] of DNAT_MAPS) {
    for (const [k, v] of snap.elements.get(set) ?? []) {
      const key = k.split(' . ');
      const [hostIp, protocol, hostPort] = any ? ['', key[0], key[1]] : key;
      const [containerIp, containerPort] = v.split(' . ');
      out.push({ family: f, hostIp, protocol: protocol as PublishedPort['protocol'], hostPort: Number(hostPort), containerIp, containerPort: Number(containerPort) });
    }
  }
  return out;
}

/** Bridges of the networks set up in a snapshot. */
export function bridgesOf(snap: NftSnapshot): string[] {
  return [...(snap.elements.get(S.bridges)?.keys() ?? [])].map((b) => b.slice(1, -1));
}

type Json = Record<string, unknown>;

/** One element component in the text form render uses: ifnames quoted, prefixes as addr/len. */
function component(v: unknown, type: string, interval: boolean): string {
  if (v && typeof v === 'object' && 'prefix' in v) {
    const p = (v as { prefix: { addr: string; len: number } }).prefix;
    return `${p.addr}/${p.len}`;
  }
  if (type === 'ifname') return q(String(v));
  // An interval set prints a one-address prefix as the bare address.
  if (interval && (type === 'ipv4_addr' || type === 'ipv6_addr')) return `${v}/${type === 'ipv4_addr' ? 32 : 128}`;
  return String(v);
}

function elementText(v: unknown, types: string[], interval: boolean): string {
  if (v && typeof v === 'object' && 'elem' in v) return elementText((v as { elem: { val: unknown } }).elem.val, types, interval);
  const parts = v && typeof v === 'object' && 'concat' in v ? (v as { concat: unknown[] }).concat : [v];
  return parts.map((p, i) => component(p, types[i] ?? types[0], interval)).join(' . ');
}

/** Parses `nft -j list table inet tsnet` (or `list set|map` of one of its sets) into a snapshot. */
export function parseList(json: string): NftSnapshot {
  const snap: NftSnapshot = { table: true, elements: new Map(), userRules: 0 };
  for (const obj of ((JSON.parse(json) as { nftables?: Json[] }).nftables ?? [])) {
    const rule = obj.rule as Json | undefined;
    if (rule?.chain === CHAIN_USER) snap.userRules++;
    const set = (obj.set ?? obj.map) as Json | undefined;
    if (!set) continue;
    const types = ([] as string[]).concat(set.type as string | string[]);
    const valueTypes = ([] as string[]).concat((set.map as string | string[] | undefined) ?? []).flatMap((t) => t.split(' . '));
    const interval = ([] as string[]).concat((set.flags as string[] | undefined) ?? []).includes('interval');
    const items = new Map<string, string>();
    for (const e of (set.elem as unknown[] | undefined) ?? []) {
      if (obj.map && Array.isArray(e)) items.set(elementText(e[0], types, interval), elementText(e[1], valueTypes, false));
      else items.set(elementText(e, types, interval), '');
    }
    snap.elements.set(set.name as string, items);
  }
  return snap;
}
