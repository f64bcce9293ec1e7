/**
 * Pure planning for the iptables backend: from a batch (what should exist) and a snapshot (what
 * does, from iptables-save or from listing just the buckets a port change touches), the lines one
 * iptables-restore --noflush must run to add or delete it.
 */
import { contains } from '../kernel/addr';
import { CHAIN_DNAT, CHAIN_PUBLISHED, CHAIN_USER } from './constants';
import {
  addLine, bucketOfChain, chainsOf, hasRule, isBucket, parseDnat, type IptBatch, type IptPlan, type IptSnapshot, type Table,
} from './iptables-rules';

const TABLES: Table[] = ['filter', 'nat'];

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

/**
 * Plans for a snapshot that may be partial: chains it lacks are created with `-N`, which fails the
 * batch if one exists after all (a `:chain` declaration would flush it), and `check` lines (`-C`,
 * failing the batch when their rule is missing) go first into their table.
 */
export function guarded(plans: IptPlan[], checks: { table: Table; chain: string; spec: string }[]): IptPlan[] {
  const out = plans.map((p) => ({ table: p.table, declare: [] as string[], lines: [...p.declare.map((c) => `-N ${c}`), ...p.lines] }));
  for (const c of checks) {
    let plan = out.find((p) => p.table === c.table);
    if (!plan) out.push((plan = { table: c.table, declare: [], lines: [] }));
    plan.lines.unshift(`-C ${c.chain} ${c.spec}`);
  }
  return TABLES.flatMap((t) => out.filter((p) => p.table === t));
}

/** The plan that undoes an applied plan (used when a later family's or table's batch fails). */
export function reversePlan(plans: IptPlan[]): IptPlan[] {
  return plans.map((p) => {
    const deletes = p.lines.filter((l) => l.startsWith('-D ')).map((l) => `-I ${l.slice(3).replace(/ /, ' 1 ')}`);
    const adds = p.lines.filter((l) => /^-[AI] /.test(l)).map((l) => `-D ${l.replace(/^-[AI] (\S+)( 1)? /, '$1 ')}`);
    const created = [...p.declare, ...p.lines.filter((l) => l.startsWith('-N ')).map((l) => l.slice(3))];
    return { table: p.table, declare: [], lines: [...adds.reverse(), ...created.map((c) => `-X ${c}`), ...deletes] };
  });
}

/** Options of a removal plan. */
export interface RemoveOptions {
  /** Full teardown: the shared chains go too (TSNET-USER only while empty). */
  complete: boolean;
  /** Subnets of the networks being removed: leftover DNATs into them go too. */
  subnets: string[];
}

const NETWORK_CHAIN_RE = /^TSNET-[0-9a-f]{13}$/;
const ACCEPT_DST_RE = /^-d (\S+)\/(?:32|128) /;

/**
 * What remove must send: deletes of present rules, then flushes and deletions of chains that go.
 * A bucket goes when no rule is left in it (or with everything), and its range jump with it.
 */
export function planRemove(b: IptBatch, snap: IptSnapshot, o: RemoveOptions): IptPlan[] {
  return TABLES.map((table) => {
    const has = (c: string) => snap.chains.has(`${table}/${c}`);
    const rulesOf = (c: string) => snap.rules.get(`${table}/${c}`) ?? [];
    const going = new Set(b.chains.filter((c) => c.table === table && has(c.name)).filter((c) => {
      if (c.teardown === 'withNetwork') return true;
      if (c.teardown === 'whenEmpty') return o.complete && !rulesOf(c.name).length;
      return o.complete; // onComplete; whenEmptied buckets are decided below
    }).map((c) => c.name));
    // A full teardown also sweeps per-network chains and buckets a crashed run left behind.
    if (o.complete) for (const c of chainsOf(snap, table)) if (isBucket(c) || (table === 'filter' && NETWORK_CHAIN_RE.test(c))) going.add(c);
    const deletes = new Map<string, Set<string>>();
    const del = (chain: string, spec: string) => {
      if (!going.has(chain)) deletes.set(chain, (deletes.get(chain) ?? new Set()).add(spec));
    };
    for (const x of b.rules) {
      if (x.table !== table || x.bucket || !hasRule(snap, x)) continue;
      if (x.spec === `-j ${CHAIN_USER}` && !going.has(CHAIN_USER)) continue;
      del(x.chain, x.spec);
    }
    if (!o.complete) for (const [chain, spec] of orphans(snap, table, o.subnets)) del(chain, spec);
    // Buckets left empty go, whoever emptied them; their jumps are deleted before the chains.
    for (const c of chainsOf(snap, table).filter((c) => isBucket(c) && !going.has(c))) {
      if (rulesOf(c).some((spec) => !deletes.get(c)?.has(spec))) continue;
      const bucket = bucketOfChain(c)!;
      const [parent, spec] = table === 'nat' ? [CHAIN_DNAT, bucket.natJump] : [CHAIN_PUBLISHED, bucket.filterJump];
      going.add(c);
      deletes.delete(c);
      if (rulesOf(parent).includes(spec)) del(parent, spec);
    }
    const lines = [
      ...[...deletes].flatMap(([chain, specs]) => [...specs].map((spec) => `-D ${chain} ${spec}`)),
      ...[...going].map((c) => `-F ${c}`),
      ...[...going].map((c) => `-X ${c}`),
    ];
    return { table, declare: [], lines };
  }).filter((p) => p.lines.length);
}

/** Rules of ports a crashed run never unpublished, pointing into subnets: DNATs and their accepts. */
function orphans(snap: IptSnapshot, table: Table, subnets: string[]): [string, string][] {
  if (!subnets.length) return [];
  const into = (ip: string | undefined) => ip !== undefined && subnets.some((s) => contains(s, ip));
  const out: [string, string][] = [];
  for (const c of chainsOf(snap, table)) {
    const specs = snap.rules.get(`${table}/${c}`) ?? [];
    if (table === 'nat' && (c === CHAIN_DNAT || isBucket(c))) {
      // The family does not matter for the address test.
      for (const spec of specs) if (into(parseDnat(spec, 4)?.containerIp)) out.push([c, spec]);
    } else if (table === 'filter' && isBucket(c)) {
      for (const spec of specs) if (into(ACCEPT_DST_RE.exec(spec)?.[1])) out.push([c, spec]);
    }
  }
  return out;
}
