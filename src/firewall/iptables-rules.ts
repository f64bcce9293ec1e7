/**
 * Pure half of the iptables backend, the layout: RuleSet → chains and rules in iptables-save's
 * canonical form, and parsing of iptables-save / `iptables -S` output. Rules are rendered exactly as
 * iptables-save prints them, so "is it there?" is a string lookup and removal re-renders the same
 * rules and deletes them. Published ports go into host-port buckets (PORT_BUCKET_BITS), so a port
 * change lists and edits one small chain per table, never a chain of every published port.
 */
import type { Protocol } from '../model';
import type { PublishedPort } from './backend';
import {
  CHAIN_DNAT, CHAIN_FORWARD, CHAIN_ISOLATION_1, CHAIN_ISOLATION_2, CHAIN_POSTROUTING, CHAIN_PUBLISHED, CHAIN_USER, PORT_BUCKET_BITS,
} from './constants';
import { networkChain, type Family, type NetworkRules, type PortRule, type RuleSet, type TeardownPolicy } from './rules';

/** The iptables tables tsnet writes to. */
export type Table = 'filter' | 'nat';
const TABLES: Table[] = ['filter', 'nat'];

/** A chain tsnet creates, with how it is torn down. */
export interface IptChain {
  table: Table;
  name: string;
  teardown: TeardownPolicy;
}

/** One rule: `-A chain spec`, or inserted at the top (`-I chain 1 spec`) for jumps from built-in chains. */
export interface IptRule {
  table: Table;
  chain: string;
  spec: string;
  insert: boolean;
  /** Set on a bucket's range jump: the bucket chain it jumps to, with which it comes and goes. */
  bucket?: string;
}

/** Chains and rules of one family, in render order. */
export interface IptBatch {
  chains: IptChain[];
  rules: IptRule[];
}

/** A parsed iptables-save listing of one family. */
export interface IptSnapshot {
  /** "table/chain" of every chain, built-in or not. */
  chains: Set<string>;
  /** "table/chain" → rule specs in order. */
  rules: Map<string, string[]>;
}

/** What one batch does to one table: chains to declare, then its lines (checks, creations, deletes, adds, flushes, chain deletions). */
export interface IptPlan {
  table: Table;
  declare: string[];
  lines: string[];
}

const r = (table: Table, chain: string, spec: string, insert = false): IptRule => ({ table, chain, spec, insert });
const jump = (table: Table, chain: string, spec: string, bucket: string): IptRule => ({ table, chain, spec, insert: false, bucket });
const loopback = (f: Family) => (f === 4 ? '127.0.0.0/8' : '::1/128');
const host = (ip: string, f: Family) => `${ip}/${f === 4 ? 32 : 128}`;

/** The shared chains and the jumps into them from the built-in chains. */
export function baseBatch(f: Family): IptBatch {
  const chains: IptChain[] = [
    { table: 'filter', name: CHAIN_USER, teardown: 'whenEmpty' },
    { table: 'filter', name: CHAIN_FORWARD, teardown: 'onComplete' },
    { table: 'filter', name: CHAIN_ISOLATION_1, teardown: 'onComplete' },
    { table: 'filter', name: CHAIN_ISOLATION_2, teardown: 'onComplete' },
    { table: 'filter', name: CHAIN_PUBLISHED, teardown: 'onComplete' },
    { table: 'nat', name: CHAIN_DNAT, teardown: 'onComplete' },
    { table: 'nat', name: CHAIN_POSTROUTING, teardown: 'onComplete' },
  ];
  const rules = [
    // Inserted at the top so a host's own FORWARD/nat rules cannot shadow them; USER goes in last so it ends up first.
    r('filter', 'FORWARD', `-j ${CHAIN_FORWARD}`, true),
    r('filter', 'FORWARD', `-j ${CHAIN_USER}`, true),
    r('filter', CHAIN_FORWARD, `-j ${CHAIN_ISOLATION_1}`),
    // A published port is open to every network: DNAT'd connections (and their replies) skip isolation.
    r('filter', CHAIN_ISOLATION_1, '-m conntrack --ctstate DNAT -j RETURN'),
    // Loopback destinations only from the host itself (OUTPUT): a neighbour must not reach 127.0.0.1 bindings.
    r('nat', 'PREROUTING', `! -d ${loopback(f)} -m addrtype --dst-type LOCAL -j ${CHAIN_DNAT}`, true),
    // From the host, 127.0.0.0/8 too (route_localnet); ::1 cannot leave lo at all, so v6 loopback is left alone.
    r('nat', 'OUTPUT', `${f === 6 ? '! -d ::1/128 ' : ''}-m addrtype --dst-type LOCAL -j ${CHAIN_DNAT}`, true),
    r('nat', 'POSTROUTING', `-j ${CHAIN_POSTROUTING}`, true),
  ];
  return { chains, rules };
}

/** One network's chain and rules for family f (nothing when it has no subnet of f). */
export function networkBatch(n: NetworkRules, f: Family): IptBatch {
  const subnets = n.subnets[f];
  if (!subnets.length) return { chains: [], rules: [] };
  const b = n.bridge;
  const own = networkChain(n.hash);
  const rules: IptRule[] = [];
  if (n.internal) {
    rules.push(r('filter', CHAIN_ISOLATION_1, `! -i ${b} -o ${b} -j DROP`, true), r('filter', CHAIN_ISOLATION_1, `-i ${b} ! -o ${b} -j DROP`, true));
  } else {
    rules.push(r('filter', CHAIN_ISOLATION_1, `-i ${b} ! -o ${b} -j ${CHAIN_ISOLATION_2}`), r('filter', CHAIN_ISOLATION_2, `-o ${b} -j DROP`));
    rules.push(r('filter', CHAIN_FORWARD, `-o ${b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`));
  }
  // Same-bridge traffic is decided by enable_icc alone (it reaches FORWARD through bridge-netfilter).
  rules.push(r('filter', CHAIN_FORWARD, `-i ${b} -o ${b} -j ${n.icc ? 'ACCEPT' : 'DROP'}`));
  rules.push(r('filter', CHAIN_FORWARD, `-o ${b} -j ${own}`));
  // Published ports are accepted here, after icc and before the final drop, from one index shared by all networks.
  rules.push(r('filter', own, `-m conntrack --ctstate DNAT -j ${CHAIN_PUBLISHED}`));
  if (!n.internal) rules.push(r('filter', CHAIN_FORWARD, `-i ${b} ! -o ${b} -j ACCEPT`));
  // Anything else routed into the bridge is unsolicited: only published ports get in, whatever FORWARD's policy.
  rules.push(r('filter', CHAIN_FORWARD, `-o ${b} -j DROP`));
  if (!n.internal) {
    // Hairpin and container → host address → other container on this bridge: replies must come back through us.
    for (const s of subnets) rules.push(r('nat', CHAIN_POSTROUTING, `-s ${s} -o ${b} -m conntrack --ctstate DNAT -j MASQUERADE`));
    if (f === 4) rules.push(r('nat', CHAIN_POSTROUTING, `-s 127.0.0.0/8 -o ${b} -j MASQUERADE`));
    if (n.masquerade) for (const s of subnets) rules.push(r('nat', CHAIN_POSTROUTING, `-s ${s} ! -o ${b} -j MASQUERADE`));
  }
  return { chains: [{ table: 'filter', name: own, teardown: 'withNetwork' }], rules };
}

/** A host-port bucket of one protocol: its chains and the range rules that jump to them. */
export interface Bucket {
  /** TSNET-DNAT-<proto>-<n> in nat, jumped to from TSNET-DNAT. */
  nat: string;
  natJump: string;
  /** TSNET-PUBLISHED-<proto>-<n> in filter, jumped to from TSNET-PUBLISHED. */
  filter: string;
  filterJump: string;
}

/** The bucket of a protocol's host port (ports are spread in ranges of 1 << PORT_BUCKET_BITS). */
export function bucketOf(protocol: Protocol, port: number): Bucket {
  const n = port >> PORT_BUCKET_BITS;
  const range = `${n << PORT_BUCKET_BITS}:${((n + 1) << PORT_BUCKET_BITS) - 1}`;
  const nat = `${CHAIN_DNAT}-${protocol}-${n}`;
  const filter = `${CHAIN_PUBLISHED}-${protocol}-${n}`;
  return {
    nat,
    natJump: `-p ${protocol} -m ${protocol} --dport ${range} -j ${nat}`,
    filter,
    // The forward accept sees the packet after DNAT: its original destination port picks the bucket.
    filterJump: `-p ${protocol} -m conntrack --ctorigdstport ${range} -j ${filter}`,
  };
}

const BUCKET_RE = /^TSNET-(?:DNAT|PUBLISHED)-(tcp|udp|sctp)-(\d+)$/;

/** The bucket a bucket chain (of either table) belongs to. */
export function bucketOfChain(chain: string): Bucket | undefined {
  const m = BUCKET_RE.exec(chain);
  return m ? bucketOf(m[1] as Protocol, Number(m[2]) << PORT_BUCKET_BITS) : undefined;
}

/** Whether a chain is a port bucket. */
export const isBucket = (chain: string): boolean => BUCKET_RE.test(chain);

/** The DNAT and the forward accept of one published port, as iptables-save prints them. */
export function portSpecs(p: PublishedPort): { dnat: string; accept: string } {
  const proto = `-p ${p.protocol} -m ${p.protocol}`;
  const dst = p.hostIp ? `-d ${host(p.hostIp, p.family)} ` : '';
  const to = p.family === 4 ? `${p.containerIp}:${p.containerPort}` : `[${p.containerIp}]:${p.containerPort}`;
  const orig = `${p.hostIp ? `--ctorigdst ${p.hostIp} ` : ''}--ctorigdstport ${p.hostPort}`;
  return {
    dnat: `${dst}${proto} --dport ${p.hostPort} -j DNAT --to-destination ${to}`,
    // Only via this DNAT: a published port is reached at the host's address, not by routing to the
    // container. Matching the original destination makes it one accept per binding, in the DNAT's
    // bucket, so the two always come and go together.
    accept: `-d ${host(p.containerIp, p.family)} ${proto} --dport ${p.containerPort} -m conntrack --ctstate DNAT ${orig} -j ACCEPT`,
  };
}

/** One published port: its DNAT and forward accept in its bucket, and the bucket with its jumps. */
export function portBatch(p: PortRule): IptBatch {
  const b = bucketOf(p.protocol, p.hostPort);
  const { dnat, accept } = portSpecs(p);
  return {
    chains: [{ table: 'filter', name: b.filter, teardown: 'whenEmptied' }, { table: 'nat', name: b.nat, teardown: 'whenEmptied' }],
    rules: [
      jump('filter', CHAIN_PUBLISHED, b.filterJump, b.filter),
      r('filter', b.filter, accept),
      jump('nat', CHAIN_DNAT, b.natJump, b.nat),
      r('nat', b.nat, dnat),
    ],
  };
}

/**
 * What published ports rely on from base and network setup: TSNET-PUBLISHED and each network's
 * jump to it. Applied (never removed) with ports, so rules a tsnet without buckets programmed get
 * them on the first publish instead of failing it.
 */
export function portPrerequisites(ports: PortRule[], f: Family): IptBatch {
  const hashes = new Set(ports.filter((p) => p.family === f).map((p) => p.networkHash));
  return {
    chains: hashes.size ? [{ table: 'filter', name: CHAIN_PUBLISHED, teardown: 'onComplete' }] : [],
    rules: [...hashes].map((h) => r('filter', networkChain(h), `-m conntrack --ctstate DNAT -j ${CHAIN_PUBLISHED}`)),
  };
}

/** Everything of `rules` for family f, de-duplicated (ports of one bucket share its chains and jumps). */
export function familyBatch(rules: RuleSet, f: Family, withBase: boolean): IptBatch {
  return joinBatches([
    ...(withBase ? [baseBatch(f)] : []),
    ...rules.networks.map((n) => networkBatch(n, f)),
    ...rules.ports.filter((p) => p.family === f).map(portBatch),
  ]);
}

/** Batches in order, each chain and rule once. */
export function joinBatches(parts: IptBatch[]): IptBatch {
  const out: IptBatch = { chains: [], rules: [] };
  const declared = new Set<string>();
  for (const c of parts.flatMap((p) => p.chains)) {
    const key = `${c.table}/${c.name}`;
    if (!declared.has(key)) out.chains.push(c), declared.add(key);
  }
  const seen = new Set<string>();
  for (const rule of parts.flatMap((p) => p.rules)) {
    const key = ruleKey(rule);
    if (!seen.has(key)) out.rules.push(rule), seen.add(key);
  }
  return out;
}

/** Identity of a rule in a snapshot. */
export function ruleKey(x: { table: Table; chain: string; spec: string }): string {
  return `${x.table}/${x.chain} ${x.spec}`;
}

/** The iptables-restore text for a batch as if nothing existed yet (what render returns). */
export function batchPlans(b: IptBatch): IptPlan[] {
  return TABLES.map((table) => ({
    table,
    declare: b.chains.filter((c) => c.table === table).map((c) => c.name),
    lines: b.rules.filter((x) => x.table === table).map(addLine),
  })).filter((p) => p.declare.length || p.lines.length);
}

/** The line adding a rule. */
export const addLine = (x: IptRule): string => (x.insert ? `-I ${x.chain} 1 ${x.spec}` : `-A ${x.chain} ${x.spec}`);

/** iptables-restore --noflush text for plans; '' when there is nothing to do. */
export function planText(header: string, plans: IptPlan[]): string {
  const body = plans
    .filter((p) => p.declare.length || p.lines.length)
    .map((p) => [`*${p.table}`, ...p.declare.map((c) => `:${c} - [0:0]`), ...p.lines, 'COMMIT'].join('\n') + '\n')
    .join('');
  return body ? `# ${header}\n${body}` : '';
}

/** Parses iptables-save output, or `iptables -t table -S` output when table is given. */
export function parseSave(text: string, table = '', snap: IptSnapshot = { chains: new Set(), rules: new Map() }): IptSnapshot {
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    else if (line.startsWith(':')) snap.chains.add(`${table}/${line.slice(1).split(' ')[0]}`);
    else if (line.startsWith('-N ') || line.startsWith('-P ')) snap.chains.add(`${table}/${line.slice(3).split(' ')[0]}`);
    else if (line.startsWith('-A ')) {
      const sp = line.indexOf(' ', 3);
      const key = `${table}/${line.slice(3, sp < 0 ? undefined : sp)}`;
      if (!snap.rules.has(key)) snap.rules.set(key, []);
      snap.rules.get(key)!.push(sp < 0 ? '' : line.slice(sp + 1));
    }
  }
  return snap;
}

/** Whether a rule is in the snapshot. */
export function hasRule(snap: IptSnapshot, x: { table: Table; chain: string; spec: string }): boolean {
  return snap.rules.get(`${x.table}/${x.chain}`)?.includes(x.spec) ?? false;
}

/** Every chain of table in the snapshot, by name. */
export function chainsOf(snap: IptSnapshot, table: Table): string[] {
  return [...snap.chains].filter((k) => k.startsWith(`${table}/`)).map((k) => k.slice(table.length + 1));
}

const DNAT_RE = /^(?:-d (\S+)\/(?:32|128) )?-p (tcp|udp|sctp) -m \w+ --dport (\d+) -j DNAT --to-destination \[?([0-9a-fA-F.:]+?)\]?:(\d+)$/;

/** The published port a DNAT spec maps, if it is one of tsnet's. */
export function parseDnat(spec: string, f: Family): PublishedPort | undefined {
  const m = DNAT_RE.exec(spec);
  if (!m) return undefined;
  return { family: f, hostIp: m[1] ?? '', protocol: m[2] as Protocol, hostPort: Number(m[3]), containerIp: m[4], containerPort: Number(m[5]) };
}

/** The chains DNAT rules of published ports live in: the buckets (and TSNET-DNAT itself, where tsnet before buckets put them). */
const dnatChains = (snap: IptSnapshot): string[] => chainsOf(snap, 'nat').filter((c) => c === CHAIN_DNAT || isBucket(c));

/** Published ports in a snapshot. */
export function publishedPorts(snap: IptSnapshot, f: Family): PublishedPort[] {
  return dnatChains(snap).flatMap((c) => (snap.rules.get(`nat/${c}`) ?? []).map((spec) => parseDnat(spec, f)).filter((p) => p !== undefined));
}

/** Bridges of the networks set up in a snapshot (each has `-o bridge -j TSNET-<hash>`). */
export function bridgesOf(snap: IptSnapshot): string[] {
  const out: string[] = [];
  for (const spec of snap.rules.get(`filter/${CHAIN_FORWARD}`) ?? []) {
    const m = /^-o (\S+) -j TSNET-[0-9a-f]{13}$/.exec(spec);
    if (m) out.push(m[1]);
  }
  return out;
}
