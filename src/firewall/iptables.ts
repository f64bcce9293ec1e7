/** The iptables backend: one `iptables-restore --noflush -w` (and ip6tables-restore) per change. */
import { InternalError } from '../errors';
import { run } from '../kernel/exec';
import { log } from '../log';
import type { Exec, FirewallBackend, FirewallState } from './backend';
import { CHAIN_FORWARD, CHAIN_USER } from './constants';
import {
  batchPlans, bridgesOf, familyBatch, parseSave, planApply, planRemove, planText, publishedPorts, reversePlan,
  type IptPlan, type IptSnapshot,
} from './iptables-rules';
import { FAMILIES, familiesOfRules, type Family, type Owner, type RuleSet } from './rules';

const debug = log('tsnet:firewall:iptables');

const tool = (f: Family, what: 'save' | 'restore') => `${f === 4 ? 'iptables' : 'ip6tables'}-${what}`;
const EMPTY: IptSnapshot = { chains: new Set(), rules: new Map() };

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
        const plans = planApply(familyBatch(rules, f, rules.base), snaps[f]);
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

  private async restore(f: Family, header: string, plans: IptPlan[]): Promise<void> {
    const text = planText(header, plans);
    if (!text) return;
    if (debug.enabled) debug(`${tool(f, 'restore')} batch:\n${text}`);
    await this.exec(tool(f, 'restore'), ['--noflush', '-w'], { input: text });
  }
}
