/** The nftables backend: one `nft -f -` transaction per change against tsnet's own `table inet tsnet`. */
import { run } from '../kernel/exec';
import { log } from '../log';
import type { Exec, FirewallBackend, FirewallState } from './backend';
import { NFT_FAMILY, NFT_TABLE } from './constants';
import { NO_TABLE, batchText, bridgesOf, parseList, planApply, planRemove, publishedPorts, type NftSnapshot } from './nftables-rules';
import type { Owner, RuleSet } from './rules';

const debug = log('tsnet:firewall:nftables');

/** nft backend: rules written once with the table, networks and ports as set/map elements. */
export class NftablesBackend implements FirewallBackend {
  readonly name = 'nftables' as const;

  constructor(private readonly exec: Exec = run) {}

  /** The batch that creates `rules` on a host without the tsnet table. */
  render(owner: Owner, rules: RuleSet): string {
    return batchText(`nft ${owner}`, planApply(rules, rules.base ? NO_TABLE : { ...NO_TABLE, table: true }));
  }

  /** Lists the tsnet table as JSON; a missing table is an empty state. */
  async list(): Promise<FirewallState> {
    let snap: NftSnapshot;
    try {
      snap = parseList((await this.exec('nft', ['-j', 'list', 'table', NFT_FAMILY, NFT_TABLE])).stdout);
    } catch (err) {
      if (!/No such file or directory/.test((err as Error).message)) throw err;
      snap = NO_TABLE;
    }
    return { base: snap.table, bridges: bridgesOf(snap), ports: publishedPorts(snap), userRules: snap.userRules, snapshot: snap };
  }

  /** Creates the table if missing and adds the elements, in one transaction. */
  async apply(owner: Owner, rules: RuleSet, current?: FirewallState): Promise<void> {
    const snap = (current ?? (await this.list())).snapshot as NftSnapshot;
    await this.send(`${owner} apply`, planApply(rules, snap));
  }

  /** Deletes the present elements, or the table on a full teardown. */
  async remove(owner: Owner, rules: RuleSet, current?: FirewallState): Promise<void> {
    const snap = (current ?? (await this.list())).snapshot as NftSnapshot;
    const subnets = rules.networks.flatMap((n) => [...n.subnets[4], ...n.subnets[6]]);
    await this.send(`${owner} remove`, planRemove(rules, snap, subnets));
  }

  private async send(header: string, statements: string[]): Promise<void> {
    const text = batchText(header, statements);
    if (!text) return;
    if (debug.enabled) debug(`nft batch:\n${text}`);
    await this.exec('nft', ['-f', '-'], { input: text });
  }
}
