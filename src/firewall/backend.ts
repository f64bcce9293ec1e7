/** FirewallBackend: renders a RuleSet into one iptables-restore / nft batch and applies or removes it. */
import type { Owner, PortRule, RuleSet } from './rules';

/** Runs a command with stdin (src/kernel/exec.ts run); the seam unit tests replace. */
export type Exec = (file: string, args: readonly string[], opts?: { input?: string }) => Promise<{ stdout: string }>;

/** A published port as found in the kernel (DNAT rule or map element): a port rule without its bookkeeping. */
export type PublishedPort = Pick<PortRule, 'family' | 'hostIp' | 'protocol' | 'hostPort' | 'containerIp' | 'containerPort'>;

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

/**
 * What publishing some ports depends on, from listings whose size does not grow with the number of
 * published ports (a full listing is what made every publish O(N)).
 */
export interface PortView {
  /** Whether a tsnet network is set up on the bridge; 'checked' when the publish batch asserts it atomically itself. */
  bridge: 'up' | 'down' | 'checked';
  /** Published ports sharing a family, protocol and host port with the ports asked for. */
  ports: PublishedPort[];
  /**
   * Whether `ports` holds every such port (iptables lists the ports' buckets), so a clash found or
   * not found in it is final; otherwise (nftables) the kernel refuses a clash when the batch runs.
   */
  complete: boolean;
  /** Backend-specific partial listing, handed back to publish. */
  readonly snapshot: unknown;
}

/**
 * The listing-free path for ports, which a backend may offer. Any failure makes KernelFirewall take
 * the listing path, which decides exactly: a refused publish leaves nothing behind (one transaction,
 * or rolled back), a failed unpublish may have removed part, which the listing path finishes.
 */
export interface FastPorts {
  /** Looks at what publishing `ports` on `bridge` depends on, and nothing else. */
  viewPorts(bridge: string, ports: PortRule[]): Promise<PortView>;
  /** Adds what `ports` lacks according to `view`, in one atomic batch per tool; throws on any refusal. */
  publish(owner: Owner, ports: PortRule[], view: PortView): Promise<void>;
  /** Removes exactly `ports` (elements or rules equal to theirs), in one batch per tool; idempotent. */
  unpublish(owner: Owner, ports: PortRule[]): Promise<void>;
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
  /** Publishing without a full listing, when the backend can. */
  readonly fastPorts?: FastPorts;
}
