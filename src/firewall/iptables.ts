/** The iptables backend: one `iptables-restore --noflush -w` (and ip6tables-restore) per change. */
import { InternalError } from '../errors';
import { run } from '../kernel/exec';
import { log } from '../log';
import type { Exec, FastPorts, FirewallBackend, FirewallState, PortView } from './backend';
import { CHAIN_DNAT, CHAIN_FORWARD, CHAIN_PUBLISHED, CHAIN_USER } from './constants';
import { guarded, planApply, planRemove, reversePlan } from './iptables-plan';
import {
  batchPlans, bridgesOf, bucketOf, familyBatch, joinBatches, parseDnat, parseSave, planText, portPrerequisites, portSpecs, publishedPorts,
  type Bucket, type IptPlan, type IptSnapshot,
} from './iptables-rules';
import { FAMILIES, familiesOfRules, networkChain, type Family, type Owner, type PortRule, type RuleSet } from './rules';

const debug = log('tsnet:firewall:iptables');

const tool = (f: Family, what: 'save' | 'restore' | '') => `${f === 4 ? 'iptables' : 'ip6tables'}${what && `-${what}`}`;
const EMPTY: IptSnapshot = { chains: new Set(), rules: new Map() };
const portsOnly = (ports: PortRule[]): RuleSet => ({ base: false, networks: [], ports });
/** How legacy iptables and later iptables-nft releases say a listed chain does not exist. */
const NO_CHAIN_RE = /No chain\/target\/match by that name|does not exist/;
/** iptables-nft 1.8.9 says this of a missing chain, but also of one holding rules it cannot parse. */
const INCOMPATIBLE_RE = /incompatible, use 'nft' tool/;

/** The table of the line an iptables-restore error names ("line 7 failed"), if it names one. */
function failedTable(err: unknown, text: string): string | undefined {
  const m = /line (\d+) failed/.exec((err as Error).message);
  let table: string | undefined;
  for (const [i, line] of text.split('\n').entries()) {
    if (line.startsWith('*')) table = line.slice(1);
    if (m && i + 1 === Number(m[1])) return table;
  }
  return undefined;
}

/** Parsed listings of both families. */
interface Snapshots {
  4: IptSnapshot;
  6: IptSnapshot;
  /** Families whose tools failed to list (no IPv6 in the kernel, for instance). */
  unavailable: Family[];
}

/** Whether the family's snapshot holds tsnet's base chain. */
const hasBase = (s: IptSnapshot) => s.chains.has(`filter/${CHAIN_FORWARD}`);

/** iptables-restore backend (works on both the nf_tables and the legacy iptables). */
export class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables' as const;

  /**
   * Ports without iptables-save: a port's clashes can only be with ports of its own bucket, so
   * `iptables -t nat -S <bucket>` per bucket (≤ 64 ports) is the whole view; the filter bucket
   * mirrors the nat one rule for rule. The batch asserts the network's jump (`-C`), so a missing
   * network fails it atomically instead of costing a listing.
   */
  readonly fastPorts: FastPorts = {
    viewPorts: async (_bridge, ports) => {
      const snaps: Snapshots = { 4: EMPTY, 6: EMPTY, unavailable: [] };
      // A bucket wrongly taken for missing is harmless here: the batch's `-N` then refuses it.
      for (const f of familiesOfRules(portsOnly(ports))) snaps[f] = await this.listBuckets(f, ports, true);
      return { bridge: 'checked', ports: FAMILIES.flatMap((f) => publishedPorts(snaps[f], f)), complete: true, snapshot: snaps };
    },
    publish: async (owner: Owner, ports: PortRule[], view: PortView) => {
      const snaps = view.snapshot as Snapshots;
      const done: [Family, IptPlan[]][] = [];
      try {
        for (const f of familiesOfRules(portsOnly(ports))) {
          const mine = ports.filter((p) => p.family === f);
          const plans = planApply(familyBatch(portsOnly(mine), f, false), snaps[f]);
          if (!plans.length) continue; // Published already.
          const check = { table: 'filter' as const, chain: CHAIN_FORWARD, spec: `-o ${mine[0].bridge} -j ${networkChain(mine[0].networkHash)}` };
          const batch = guarded(plans, [check]);
          try {
            await this.restore(f, `${owner} publish`, batch);
          } catch (err) {
            // Each table commits on its own: when nat refused, filter went in and must be undone too.
            if (failedTable(err, planText(`${owner} publish`, batch)) === 'nat') done.push([f, batch.filter((p) => p.table === 'filter')]);
            throw err;
          }
          done.push([f, batch]);
        }
      } catch (err) {
        for (const [f, plans] of done.reverse()) await this.restore(f, `${owner} rollback`, reversePlan(plans)).catch(() => undefined);
        throw err;
      }
    },
    unpublish: async (owner: Owner, ports: PortRule[]) => {
      for (const f of familiesOfRules(portsOnly(ports))) {
        // A bucket wrongly taken for missing would leave the port published: an unsure answer is checked.
        const snap = await this.listBuckets(f, ports, false);
        await this.restore(f, `${owner} unpublish`, planRemove(familyBatch(portsOnly(ports), f, false), snap, { complete: false, subnets: [] }));
      }
    },
  };

  constructor(private readonly exec: Exec = run) {}

  /** Both families' batches as if nothing existed yet, each headed by the tool it goes to. */
  render(owner: Owner, rules: RuleSet): string {
    return familiesOfRules(rules)
      .map((f) => planText(`${tool(f, 'restore')} ${owner}`, batchPlans(familyBatch(rules, f, rules.base))))
      .join('');
  }

  /** Lists both families with iptables-save / ip6tables-save. */
  async list(): Promise<FirewallState> {
    const snaps: Snapshots = { 4: EMPTY, 6: EMPTY, unavailable: [] };
    for (const f of FAMILIES) {
      try {
        snaps[f] = parseSave((await this.exec(tool(f, 'save'), [])).stdout);
      } catch (err) {
        // IPv4 must work; a kernel without IPv6 just has no IPv6 rules.
        if (f === 4) throw err;
        snaps.unavailable.push(f);
      }
    }
    const bridges = [...new Set(FAMILIES.flatMap((f) => bridgesOf(snaps[f])))];
    return {
      base: FAMILIES.some((f) => hasBase(snaps[f])),
      bridges,
      ports: FAMILIES.flatMap((f) => publishedPorts(snaps[f], f)),
      userRules: FAMILIES.reduce((n, f) => n + (snaps[f].rules.get(`filter/${CHAIN_USER}`)?.length ?? 0), 0),
      snapshot: snaps,
    };
  }

  /** Adds the missing chains and rules; if the second family fails, the first is rolled back. */
  async apply(owner: Owner, rules: RuleSet, current?: FirewallState): Promise<void> {
    const snaps = (current ?? (await this.list())).snapshot as Snapshots;
    const done: [Family, IptPlan[]][] = [];
    try {
      for (const f of familiesOfRules(rules)) {
        if (snaps.unavailable.includes(f)) throw new InternalError(`${tool(f, 'save')}: IPv${f} firewall unavailable`);
        const plans = planApply(joinBatches([portPrerequisites(rules.ports, f), familyBatch(rules, f, rules.base)]), snaps[f]);
        await this.restore(f, `${owner} apply`, plans);
        done.push([f, plans]);
      }
    } catch (err) {
      // Nothing half-made: undo the families that went through (best effort, the first error wins).
      for (const [f, plans] of done.reverse()) await this.restore(f, `${owner} rollback`, reversePlan(plans)).catch(() => undefined);
      throw err;
    }
  }

  /** Deletes the present rules of `rules`; with rules.base, also the shared chains of every family. */
  async remove(owner: Owner, rules: RuleSet, current?: FirewallState): Promise<void> {
    const snaps = (current ?? (await this.list())).snapshot as Snapshots;
    const errors: unknown[] = [];
    for (const f of FAMILIES) {
      if (snaps.unavailable.includes(f)) continue;
      const subnets = rules.networks.flatMap((n) => n.subnets[f]);
      const withBase = rules.base && hasBase(snaps[f]);
      const plans = planRemove(familyBatch(rules, f, withBase), snaps[f], { complete: withBase, subnets });
      // Teardown carries on after a failure and reports every error at the end.
      await this.restore(f, `${owner} remove`, plans).catch((err) => errors.push(err));
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, `remove firewall rules of ${owner}`);
  }

  /**
   * The buckets of f's ports: each nat bucket as listed, its filter twin derived from it (one accept
   * per DNAT), and the jumps to both, which exist exactly while the bucket does.
   */
  private async listBuckets(f: Family, ports: PortRule[], unsureIsMissing: boolean): Promise<IptSnapshot> {
    const snap: IptSnapshot = { chains: new Set(), rules: new Map() };
    let top: string[] | undefined;
    // Unsure whether a bucket is missing: it is exactly when TSNET-DNAT has no jump to it (one small listing).
    const jumpedTo = async (b: Bucket) => {
      top ??= parseSave((await this.exec(tool(f, ''), ['-w', '-t', 'nat', '-S', CHAIN_DNAT])).stdout, 'nat').rules.get(`nat/${CHAIN_DNAT}`) ?? [];
      return top.includes(b.natJump);
    };
    const add = (key: string, spec: string) => snap.rules.set(key, [...(snap.rules.get(key) ?? []), spec]);
    const buckets = new Map(ports.filter((p) => p.family === f).map((p) => bucketOf(p.protocol, p.hostPort)).map((b) => [b.nat, b]));
    for (const b of buckets.values()) {
      let listing: string;
      try {
        listing = (await this.exec(tool(f, ''), ['-w', '-t', 'nat', '-S', b.nat])).stdout;
      } catch (err) {
        const msg = (err as Error).message;
        if (NO_CHAIN_RE.test(msg)) continue;
        if (INCOMPATIBLE_RE.test(msg) && (unsureIsMissing || !(await jumpedTo(b)))) continue;
        throw err;
      }
      parseSave(listing, 'nat', snap);
      snap.chains.add(`filter/${b.filter}`);
      snap.rules.set(`filter/${b.filter}`, []);
      for (const spec of snap.rules.get(`nat/${b.nat}`) ?? []) {
        const p = parseDnat(spec, f);
        if (p) add(`filter/${b.filter}`, portSpecs(p).accept);
      }
      add(`nat/${CHAIN_DNAT}`, b.natJump);
      add(`filter/${CHAIN_PUBLISHED}`, b.filterJump);
    }
    return snap;
  }

  private async restore(f: Family, header: string, plans: IptPlan[]): Promise<void> {
    const text = planText(header, plans);
    if (!text) return;
    if (debug.enabled) debug(`${tool(f, 'restore')} batch:\n${text}`);
    await this.exec(tool(f, 'restore'), ['--noflush', '-w'], { input: text });
  }
}
