/** FirewallBackend: renders a RuleSet into one iptables-restore / nft batch and applies or removes it. */
import type { Protocol } from '../model';
import type { Family, Owner, RuleSet } from './rules';

/** Runs a command with stdin (src/kernel/exec.ts run); the seam unit tests replace. */
export type Exec = (file: string, args: readonly string[], opts?: { input?: string }) => Promise<{ stdout: string }>;

/** A published port as found in the kernel (DNAT rule or map element). */
export interface PublishedPort {
  family: Family;
  /** Host address, '' for every address of the family. */
  hostIp: string;
  protocol: Protocol;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** What tsnet has in the kernel right now, derived from a listing (the firewall keeps no other state). */
export interface FirewallState {
  /** Whether tsnet's shared chains (iptables) or table (nftables) exist. */
  base: boolean;
  /** Bridges of the networks currently set up. */
  bridges: string[];
  /** Published ports. */
  ports: PublishedPort[];
  /** Rules an operator put into TSNET-USER; full teardown keeps the chain when there are any. */
  userRules: number;
  /** Backend-specific parsed listing, reused by apply/remove so one change lists only once. */
  readonly snapshot: unknown;
}

/** One way of programming the kernel firewall: iptables-restore or nft. */
export interface FirewallBackend {
  /** Which tool this backend drives. */
  readonly name: 'iptables' | 'nftables';
  /** Pure: the batch that creates `rules` on a host without any tsnet state (golden-tested). */
  render(owner: Owner, rules: RuleSet): string;
  /** Adds whatever of `rules` the kernel lacks, in one atomic batch per tool; idempotent. */
  apply(owner: Owner, rules: RuleSet, current?: FirewallState): Promise<void>;
  /**
   * Deletes whatever of `rules` the kernel has (plus port mappings into a removed network's
   * subnets); with `rules.base` it is the full teardown that also removes the shared chains/table.
   */
  remove(owner: Owner, rules: RuleSet, current?: FirewallState): Promise<void>;
  /** Lists tsnet's current kernel state. */
  list(): Promise<FirewallState>;
}
