/** The nftables backend: one `nft -f -` transaction per change against tsnet's own `table inet tsnet`. */
import { run } from '../kernel/exec';
import { log } from '../log';
import type { Exec, FastPorts, FirewallBackend, FirewallState, PortView } from './backend';
import { NFT_FAMILY, NFT_SET, NFT_TABLE } from './constants';
import {
  NO_TABLE, batchText, bridgesOf, emptyTable, parseList, planApply, planRemove, publishStatements, publishedPorts, unpublishStatements,
  type Elements, type NftSnapshot,
} from './nftables-rules';
import type { Owner, PortRule, RuleSet } from './rules';

const debug = log('tsnet:firewall:nftables');

const missingTable = (err: unknown) => /No such file or directory/.test((err as Error).message);

/** nft backend: rules written once with the table, networks and ports as set/map elements. */
export class NftablesBackend implements FirewallBackend {
  readonly name = 'nftables' as const;

  /**
   * Ports without a full listing: `nft -j list ruleset` grows with every published port (40 ms at
   * 1000), while a publish needs only the bridges set (its network must be set up) and one batch
   * of element adds in which the kernel refuses any clash itself: an existing key with another
   * value fails the whole transaction (the DNAT maps for one address, claims4/6 across addresses),
   * an identical element is a no-op. (`nft get element` would not help: nft 1.0 caches the whole set first.)
   */
  readonly fastPorts: FastPorts = {
    viewPorts: async (bridge) => {
      const snap = await this.listOne('set', NFT_SET.bridges);
      return { bridge: bridgesOf(snap).includes(bridge) ? 'up' : 'down', ports: [], complete: false, snapshot: snap };
    },
    publish: async (owner: Owner, ports: PortRule[], _view: PortView) => {
      await this.send(`${owner} publish`, publishStatements(ports));
    },
    // Only single-address bindings need a look (at their family's small DNAT map): another address
    // on the same port keeps the port's claim.
    unpublish: async (owner: Owner, ports: PortRule[]) => {
      const specific: Elements = new Map();
      for (const [f, name] of [[4, NFT_SET.dnat4], [6, NFT_SET.dnat6]] as const) {
        if (!ports.some((p) => p.family === f && p.hostIp)) continue;
        const snap = await this.listOne('map', name);
        if (!snap.table) return; // No table: nothing is published.
        specific.set(name, snap.elements.get(name) ?? new Map());
      }
      await this.send(`${owner} unpublish`, unpublishStatements(ports, specific));
    },
  };

  constructor(private readonly exec: Exec = run) {}

  /** The batch that creates `rules` on a host without the tsnet table. */
  render(owner: Owner, rules: RuleSet): string {
    return batchText(`nft ${owner}`, planApply(rules, rules.base ? NO_TABLE : emptyTable()));
  }

  /** Lists the tsnet table as JSON; a missing table is an empty state. */
  async list(): Promise<FirewallState> {
    let snap: NftSnapshot;
    try {
      snap = parseList((await this.exec('nft', ['-j', 'list', 'table', NFT_FAMILY, NFT_TABLE])).stdout);
    } catch (err) {
      if (!missingTable(err)) throw err;
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

  /** One set or map of the table (no table: NO_TABLE). */
  private async listOne(kind: 'set' | 'map', name: string): Promise<NftSnapshot> {
    try {
      return parseList((await this.exec('nft', ['-j', 'list', kind, NFT_FAMILY, NFT_TABLE, name])).stdout);
    } catch (err) {
      if (!missingTable(err)) throw err;
      return NO_TABLE;
    }
  }

  private async send(header: string, statements: string[]): Promise<void> {
    const text = batchText(header, statements);
    if (!text) return;
    if (debug.enabled) debug(`nft batch:\n${text}`);
    await this.exec('nft', ['-f', '-'], { input: text });
  }
}
