/**
 * Pure half of the iptables backend: RuleSet → chains and rules in iptables-save's canonical form,
 * parsing of iptables-save output, and the plans (what to add or delete) that make one batch.
 * Rules are rendered exactly as iptables-save prints them, so "is it there?" is a string lookup and
 * removal re-renders the same rules and deletes them.
 */
import { contains } from '../kernel/addr';
import type { PublishedPort } from './backend';
import { CHAIN_DNAT, CHAIN_FORWARD, CHAIN_ISOLATION_1, CHAIN_ISOLATION_2, CHAIN_POSTROUTING, CHAIN_USER } from './constants';
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

/** What one batch does to one table: chains to declare, then deletes, adds, flushes and chain deletions. */
export interface IptPlan {
  table: Table;
  declare: string[];
  lines: string[];
}

const r = (table: Table, chain: string, spec: string, insert = false): IptRule => ({ table, chain, spec, insert });
const loopback = (f: Family) => (f === 4 ? '127.0.0.0/8' : '::1/128');
const host = (ip: string, f: Family) => `${ip}/${f === 4 ? 32 : 128}`;

/** The shared chains and the jumps into them from the built-in chains. */
export function baseBatch(f: Family): IptBatch {
  const chains: IptChain[] = [
    { table: 'filter', name: CHAIN_USER, teardown: 'whenEmpty' },
    { table: 'filter', name: CHAIN_FORWARD, teardown: 'onComplete' },
    { table: 'filter', name: CHAIN_ISOLATION_1, teardown: 'onComplete' },
    { table: 'filter', name: CHAIN_ISOLATION_2, teardown: 'onComplete' },
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

/** The DNAT and the forward accept of one published port. */
export function portBatch(p: PortRule): IptBatch {
  const proto = `-p ${p.protocol} -m ${p.protocol}`;
  const dst = p.hostIp ? `-d ${host(p.hostIp, p.family)} ` : '';
  const to = p.family === 4 ? `${p.containerIp}:${p.containerPort}` : `[${p.containerIp}]:${p.containerPort}`;
  return {
    chains: [],
    rules: [
      r('nat', CHAIN_DNAT, `${dst}${proto} --dport ${p.hostPort} -j DNAT --to-destination ${to}`),
      // Only via the DNAT: a published port is reached at the host's address, not by routing to the container.
      r('filter', networkChain(p.networkHash), `-d ${host(p.containerIp, p.family)} ${proto} --dport ${p.containerPort} -m conntrack --ctstate DNAT -j ACCEPT`),
    ],
  };
}

/** Everything of `rules` for family f, de-duplicated (two bindings to one container port share its accept). */
export function familyBatch(rules: RuleSet, f: Family, withBase: boolean): IptBatch {
  const parts = [
    ...(withBase ? [baseBatch(f)] : []),
    ...rules.networks.map((n) => networkBatch(n, f)),
    ...rules.ports.filter((p) => p.family === f).map(portBatch),
  ];
  const seen = new Set<string>();
  const out: IptBatch = { chains: parts.flatMap((p) => p.chains), rules: [] };
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

const addLine = (x: IptRule) => (x.insert ? `-I ${x.chain} 1 ${x.spec}` : `-A ${x.chain} ${x.spec}`);

/** iptables-restore --noflush text for plans; '' when there is nothing to do. */
export function planText(header: string, plans: IptPlan[]): string {
  const body = plans
    .filter((p) => p.declare.length || p.lines.length)
    .map((p) => [`*${p.table}`, ...p.declare.map((c) => `:${c} - [0:0]`), ...p.lines, 'COMMIT'].join('\n') + '\n')
    .join('');
  return body ? `# ${header}\n${body}` : '';
}

/** Parses iptables-save output. */
export function parseSave(text: string): IptSnapshot {
  const snap: IptSnapshot = { chains: new Set(), rules: new Map() };
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    else if (line.startsWith(':')) snap.chains.add(`${table}/${line.slice(1).split(' ')[0]}`);
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

/** What apply must send: missing chains and rules, keeping top-inserted jumps in render order. */
export function planApply(b: IptBatch, snap: IptSnapshot): IptPlan[] {
  return TABLES.map((table) => {
    const declare = b.chains.filter((c) => c.table === table && !snap.chains.has(`${table}/${c.name}`)).map((c) => c.name);
    const lines: string[] = [];
    const redo: string[] = [];
    const insertingInto = new Set<string>();
    for (const x of b.rules.filter((y) => y.table === table)) {
      const present = hasRule(snap, x);
      if (present && !(x.insert && insertingInto.has(x.chain))) continue;
      // A jump already there but rendered after one we now insert must move back on top (TSNET-USER first).
      if (present) redo.push(`-D ${x.chain} ${x.spec}`);
      if (x.insert) insertingInto.add(x.chain);
      lines.push(addLine(x));
    }
    return { table, declare, lines: [...redo, ...lines] };
  }).filter((p) => p.declare.length || p.lines.length);
}

/** The plan that undoes an applied plan (used when a later family's batch fails). */
export function reversePlan(plans: IptPlan[]): IptPlan[] {
  return plans.map((p) => {
    const deletes = p.lines.filter((l) => l.startsWith('-D ')).map((l) => `-I ${l.slice(3).replace(/ /, ' 1 ')}`);
    const adds = p.lines.filter((l) => !l.startsWith('-D ')).map((l) => `-D ${l.replace(/^-[AI] (\S+)( 1)? /, '$1 ')}`);
    return { table: p.table, declare: [], lines: [...adds.reverse(), ...p.declare.map((c) => `-X ${c}`), ...deletes] };
  });
}

/** Options of a removal plan. */
export interface RemoveOptions {
  /** Full teardown: the shared chains go too (TSNET-USER only while empty). */
  complete: boolean;
  /** Subnets of the networks being removed: leftover DNATs into them go too. */
  subnets: string[];
}

/** What remove must send: deletes of present rules, then flushes and deletions of chains that go. */
export function planRemove(b: IptBatch, snap: IptSnapshot, o: RemoveOptions): IptPlan[] {
  return TABLES.map((table) => {
    const has = (c: string) => snap.chains.has(`${table}/${c}`);
    const going = b.chains.filter((c) => c.table === table && has(c.name)).filter((c) => {
      if (c.teardown === 'withNetwork') return true;
      if (c.teardown === 'onComplete') return o.complete;
      return o.complete && !(snap.rules.get(`${table}/${c.name}`)?.length);
    }).map((c) => c.name);
    // A full teardown also sweeps per-network chains a crashed run left behind.
    if (o.complete && table === 'filter') {
      for (const key of snap.chains) {
        const name = key.slice('filter/'.length);
        if (key.startsWith('filter/') && NETWORK_CHAIN_RE.test(name) && !going.includes(name)) going.push(name);
      }
    }
    const flushed = new Set(going);
    const deletes = b.rules
      .filter((x) => x.table === table && !flushed.has(x.chain) && hasRule(snap, x))
      .filter((x) => x.spec !== `-j ${CHAIN_USER}` || flushed.has(CHAIN_USER))
      .map((x) => `-D ${x.chain} ${x.spec}`);
    if (table === 'nat' && !flushed.has(CHAIN_DNAT)) {
      for (const spec of orphanDnats(snap, o.subnets)) {
        const line = `-D ${CHAIN_DNAT} ${spec}`;
        if (!deletes.includes(line)) deletes.push(line);
      }
    }
    const lines = [...deletes, ...going.map((c) => `-F ${c}`), ...going.map((c) => `-X ${c}`)];
    return { table, declare: [], lines };
  }).filter((p) => p.lines.length);
}

const NETWORK_CHAIN_RE = /^TSNET-[0-9a-f]{13}$/;
const DNAT_RE = /^(?:-d (\S+)\/(?:32|128) )?-p (tcp|udp|sctp) -m \w+ --dport (\d+) -j DNAT --to-destination \[?([0-9a-fA-F.:]+?)\]?:(\d+)$/;

/** DNAT specs whose destination lies in one of subnets (ports a crashed run never unpublished). */
function orphanDnats(snap: IptSnapshot, subnets: string[]): string[] {
  if (!subnets.length) return [];
  return (snap.rules.get(`nat/${CHAIN_DNAT}`) ?? []).filter((spec) => {
    const m = DNAT_RE.exec(spec);
    return m !== null && subnets.some((s) => contains(s, m[4]));
  });
}

/** Published ports in a snapshot. */
export function publishedPorts(snap: IptSnapshot, f: Family): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const spec of snap.rules.get(`nat/${CHAIN_DNAT}`) ?? []) {
    const m = DNAT_RE.exec(spec);
    if (!m) continue;
    out.push({ family: f, hostIp: m[1] ?? '', protocol: m[2] as PublishedPort['protocol'], hostPort: Number(m[3]), containerIp: m[4], containerPort: Number(m[5]) });
  }
  return out;
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
