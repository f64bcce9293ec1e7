/**
 * The firewall contract the controller uses (networks' NAT/isolation, published ports) and its
 * kernel implementation over a FirewallBackend. Stateless across processes: every change looks at
 * the kernel, derives what to add or delete from its arguments, and sends one batch under a lock.
 * Network changes list tsnet's whole ruleset; port changes look only at what the ports touch (so
 * their cost does not grow with the number of published ports) and fall back to the full listing
 * whenever that small view cannot decide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors';
import { setSysctl } from '../kernel/sysctl';
import { log } from '../log';
import type { Protocol } from '../model';
import type { FirewallBackend, PortView, PublishedPort } from './backend';
import {
  FIREWALL_LOCK, SYSCTL_BRIDGE_NF_IP6T, SYSCTL_BRIDGE_NF_IPT, SYSCTL_IP6_FORWARD, SYSCTL_IP_FORWARD, SYSCTL_ROUTE_LOCALNET,
} from './constants';
import { IptablesBackend } from './iptables';
import { withFileLock } from '../kernel/lock';
import { type Firewalld, SystemFirewalld } from './firewalld';
import { NftablesBackend } from './nftables';
import { hostIpsOverlap, hostPortInUse } from './ports';
import {
  endpointOwner, hostLabel, networkOwner, networkRules, portRules, type FirewallEndpoint, type FirewallNetwork, type NetworkRules, type PortRule,
} from './rules';

export type { Exec, FirewallBackend, FirewallState, PublishedPort } from './backend';
export type { FirewallEndpoint, FirewallNetwork, RuleSet } from './rules';

const debug = log('tsnet:firewall');

/** Names of the firewall backends. */
export type BackendName = 'iptables' | 'nftables';

/** What the controller asks of the firewall (moby's firewaller with netavark's statelessness). */
export interface Firewall {
  /** The backend programming the kernel; none when the daemon config sets "iptables": false. */
  readonly backend: BackendName | 'none';
  /**
   * Idempotent: creates tsnet's base chains/table on first use (TSNET-USER once, jumped to first,
   * never edited), the network's NAT, isolation and icc rules, then turns on forwarding.
   */
  setupNetwork(net: FirewallNetwork): Promise<void>;
  /**
   * Removes exactly this network's rules (and port mappings left pointing into it). When no tsnet
   * network is left, removes every tsnet chain/table too, so the ruleset listing is what it was
   * before tsnet; TSNET-USER goes as well unless an operator put rules into it, which are kept.
   */
  teardownNetwork(net: FirewallNetwork): Promise<void>;
  /** Publishes ep.ports (DNAT, forward accept) in one atomic batch; a taken host port is a ConflictError with nothing applied. */
  publishPorts(ep: FirewallEndpoint): Promise<void>;
  /** Removes exactly the rules/elements of ep.ports (an endpoint's ports go as a whole). */
  unpublishPorts(ep: FirewallEndpoint): Promise<void>;
  /** Of these networks, the ones whose rules are not in the kernel (flushed by `nft flush ruleset`, `iptables -F`, a firewalld reload). */
  missing(nets: FirewallNetwork[]): Promise<FirewallNetwork[]>;
}

/** The side effects besides the backend, injectable for tests. */
export interface FirewallDeps {
  setSysctl(key: string, value: string): void;
  /** Program IPv6 rules (daemon.json "ip6tables"); false leaves IPv6 traffic unfiltered and un-NATed, as dockerd. */
  ipv6?: boolean;
  /** Turn on the kernel's forwarding (daemon.json "ip-forward"); false leaves it as the operator set it. */
  ipForward?: boolean;
  hostPortInUse(protocol: Protocol, hostIp: string, port: number): Promise<boolean>;
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** firewalld, whose zones must hold tsnet's bridges while it runs (absent: not consulted). */
  firewalld?: Firewalld;
}

const KERNEL_DEPS: FirewallDeps = {
  setSysctl: (key, value) => void setSysctl(key, value),
  hostPortInUse,
  withLock: (fn) => withFileLock(FIREWALL_LOCK, fn),
  firewalld: new SystemFirewalld(),
};

const noNetwork = (ep: FirewallEndpoint) => new NotFoundError(`publish ports of endpoint ${ep.id}: no tsnet network is set up on bridge ${ep.bridge}`);

const sameBinding = (p: PublishedPort, r: PortRule) =>
  p.family === r.family && p.hostIp === r.hostIp && p.protocol === r.protocol && p.hostPort === r.hostPort && p.containerIp === r.containerIp && p.containerPort === r.containerPort;

/** The Firewall over one backend; the worker behind createFirewall, taking its collaborators. */
export class KernelFirewall implements Firewall {
  constructor(private readonly impl: FirewallBackend, private readonly deps: FirewallDeps = KERNEL_DEPS) {}

  /** The backend's name. */
  get backend(): BackendName {
    return this.impl.name;
  }

  /** The network as this firewall programs it: without its IPv6 subnets when "ip6tables" is false. */
  private scoped(net: FirewallNetwork): FirewallNetwork {
    return this.deps.ipv6 === false ? { ...net, subnets: net.subnets.filter((s) => !s.includes(':')) } : net;
  }

  /** The endpoint's port rules this firewall programs: IPv4 only when "ip6tables" is false. */
  private portRulesOf(ep: FirewallEndpoint): PortRule[] {
    return portRules(this.deps.ipv6 === false ? { ...ep, ipv6: undefined } : ep);
  }

  /** See Firewall.setupNetwork. */
  async setupNetwork(net: FirewallNetwork): Promise<void> {
    net = this.scoped(net);
    const rules = networkRules(net);
    await this.deps.withLock(async () => {
      const state = await this.impl.list();
      await this.impl.apply(networkOwner(net.id), { base: true, networks: [rules], ports: [] }, state);
    });
    // Forwarding goes on only once isolation is in place, so a failed setup opens nothing.
    this.enableForwarding(net, rules);
    await this.deps.firewalld?.bind(net.bridge);
    debug(`network ${net.name} (${net.bridge}) set up with ${this.backend}`);
  }

  /** See Firewall.missing. */
  async missing(nets: FirewallNetwork[]): Promise<FirewallNetwork[]> {
    if (!nets.length) return [];
    const state = await this.impl.list();
    // While firewalld runs, a bridge it no longer holds (its reload drops runtime bindings) is missing too.
    const bound = await this.deps.firewalld?.zoneInterfaces();
    return nets.filter((n) => !state.base || !state.bridges.includes(n.bridge) || (bound && !bound.has(n.bridge)));
  }

  /** See Firewall.teardownNetwork. */
  async teardownNetwork(net: FirewallNetwork): Promise<void> {
    const rules = networkRules(this.scoped(net));
    await this.deps.withLock(async () => {
      const state = await this.impl.list();
      const last = state.bridges.every((b) => b === net.bridge);
      await this.impl.remove(networkOwner(net.id), { base: last, networks: [rules], ports: [] }, state);
      debug(`network ${net.name} (${net.bridge}) torn down${last ? ', last one: base removed' : ''}`);
    });
    // A binding left behind names a bridge that is gone: harmless, so a firewalld error does not fail the removal.
    await this.deps.firewalld?.unbind(net.bridge).catch((err: Error) => debug(`unbinding ${net.bridge} from firewalld: ${err.message}`));
  }

  /** See Firewall.publishPorts. */
  async publishPorts(ep: FirewallEndpoint): Promise<void> {
    const ports = this.portRulesOf(ep);
    if (!ports.length) return;
    await this.deps.withLock(async () => {
      if (await this.publishFast(ep, ports)) return;
      const state = await this.impl.list();
      if (!state.bridges.includes(ep.bridge)) throw noNetwork(ep);
      await this.checkFree(ports, state.ports, true);
      await this.impl.apply(endpointOwner(ep.id), { base: false, networks: [], ports }, state);
    });
  }

  /** See Firewall.unpublishPorts. */
  async unpublishPorts(ep: FirewallEndpoint): Promise<void> {
    const ports = this.portRulesOf(ep);
    if (!ports.length) return;
    await this.deps.withLock(async () => {
      const fast = this.impl.fastPorts;
      if (fast) {
        try {
          return await fast.unpublish(endpointOwner(ep.id), ports);
        } catch (err) {
          debug(`unpublish ${ep.id} without a listing failed, listing: ${(err as Error).message}`);
        }
      }
      await this.impl.remove(endpointOwner(ep.id), { base: false, networks: [], ports }, await this.impl.list());
    });
  }

  /**
   * Publishes from the backend's small view when it can decide from it; false sends the caller to
   * the full listing (a clash or a busy port the view cannot tell from a re-publish, or a refused batch).
   */
  private async publishFast(ep: FirewallEndpoint, ports: PortRule[]): Promise<boolean> {
    const fast = this.impl.fastPorts;
    if (!fast) return false;
    const fallBack = (err: unknown) => {
      debug(`publish ${ep.id} without a listing failed, listing: ${(err as Error).message}`);
      return false;
    };
    let view: PortView;
    try {
      view = await fast.viewPorts(ep.bridge, ports);
    } catch (err) {
      return fallBack(err);
    }
    if (view.bridge === 'down') throw noNetwork(ep);
    if (!(await this.checkFree(ports, view.ports, view.complete))) return false;
    try {
      await fast.publish(endpointOwner(ep.id), ports, view);
      return true;
    } catch (err) {
      return fallBack(err);
    }
  }

  /**
   * Re-publishing is a no-op; anything else on the same host port is taken. With a complete list of
   * the ports that could clash, a clash is a ConflictError; otherwise resolves false instead, since
   * a busy port may then be one this endpoint already holds.
   */
  private async checkFree(ports: PortRule[], published: PublishedPort[], complete: boolean): Promise<boolean> {
    const fresh = ports.filter((r) => !published.some((p) => sameBinding(p, r)));
    for (const r of fresh) {
      const clash = published.some((p) => p.family === r.family && p.protocol === r.protocol && p.hostPort === r.hostPort && hostIpsOverlap(p.hostIp, r.hostIp));
      if (clash || (await this.deps.hostPortInUse(r.protocol, r.hostIp || (r.family === 4 ? '0.0.0.0' : '::'), r.hostPort))) {
        if (!complete) return false;
        throw new ConflictError(`bind for ${hostLabel(r)} failed: port is already allocated`);
      }
    }
    return true;
  }

  private enableForwarding(net: FirewallNetwork, rules: NetworkRules): void {
    const set = this.deps.setSysctl;
    if (this.deps.ipForward !== false) {
      set(SYSCTL_IP_FORWARD, '1');
      if (rules.subnets[6].length) set(SYSCTL_IP6_FORWARD, '1');
    }
    // localhost → container: packets from 127.0.0.1 must be routable out of the bridge.
    if (!net.internal && rules.subnets[4].length) set(SYSCTL_ROUTE_LOCALNET(net.bridge), '1');
    if (net.icc) return;
    try {
      // Same-bridge traffic is switched, not routed: only bridge-netfilter shows it to FORWARD.
      set(SYSCTL_BRIDGE_NF_IPT, '1');
      if (rules.subnets[6].length) set(SYSCTL_BRIDGE_NF_IP6T, '1');
    } catch (err) {
      throw new UnsupportedError(`network ${net.name}: enable_icc=false needs bridge netfilter (br_netfilter)`, { cause: err });
    }
  }
}

/** Whether an executable is on PATH (or in the sbin directories root's tools live in). */
function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d && fs.existsSync(path.join(d, name)));
}

/**
 * The backend that fits the host: nftables when `nft` exists. tsnet then owns one table, so a change
 * is one transaction, a full teardown is one `delete table` that restores the ruleset exactly, and a
 * published port is a map element (O(1) lookup, no rule rewrite) instead of a linear rule list;
 * iptables-nft is itself only a translation onto nf_tables. iptables otherwise.
 */
export function defaultBackend(): BackendName {
  return onPath('nft') ? 'nftables' : 'iptables';
}

/** A backend by name. */
export function createBackend(name: BackendName): FirewallBackend {
  if (name === 'nftables') return new NftablesBackend();
  if (name === 'iptables') return new IptablesBackend();
  throw new InvalidArgumentError(`firewall backend "${name as string}": must be iptables or nftables`);
}

/**
 * The firewall when the daemon config sets "iptables": false: tsnet programs no rule at all (no NAT,
 * no isolation, no forwarding switch), as dockerd then does. Publishing a port is refused: dockerd
 * would fall back on its userland proxy, tsnet has none.
 */
/** Why -p is refused, naming the key that decides it. */
export const NO_FIREWALL_PUBLISH = 'publishing ports needs the firewall, and the daemon config sets "iptables": false (tsnet has no userland proxy to fall back on); set "iptables": true or drop -p';

export class DisabledFirewall implements Firewall {
  readonly backend = 'none' as const;

  async setupNetwork(_net: FirewallNetwork): Promise<void> {
    // Nothing: the operator's own rules decide what passes.
  }

  async teardownNetwork(_net: FirewallNetwork): Promise<void> {
    // Nothing was programmed.
  }

  async publishPorts(ep: FirewallEndpoint): Promise<void> {
    if (ep.ports.length) throw new UnsupportedError(NO_FIREWALL_PUBLISH);
  }

  async unpublishPorts(_ep: FirewallEndpoint): Promise<void> {
    // No port was ever published.
  }

  async missing(_nets: FirewallNetwork[]): Promise<FirewallNetwork[]> {
    return [];
  }
}

/** The daemon config's firewall keys (iptables, ip6tables, ip-forward), each true unless set false. */
export interface FirewallPolicy {
  enabled?: boolean;
  ipv6?: boolean;
  ipForward?: boolean;
}

/**
 * The firewall for this host: opts.backend, else $TSNET_FIREWALL_BACKEND, else defaultBackend(); none
 * at all when the policy disables it ("iptables": false).
 */
export function createFirewall(opts: { backend?: BackendName; policy?: FirewallPolicy } = {}): Firewall {
  if (opts.policy?.enabled === false) return new DisabledFirewall();
  const name = opts.backend ?? (process.env.TSNET_FIREWALL_BACKEND as BackendName | undefined);
  return new KernelFirewall(name ? createBackend(name) : detectedBackend(), { ...KERNEL_DEPS, ipv6: opts.policy?.ipv6, ipForward: opts.policy?.ipForward });
}

/** The default backend, detected (a PATH search) on first use: read-only commands never touch the firewall. */
function detectedBackend(): FirewallBackend {
  let real: FirewallBackend | undefined;
  const get = () => (real ??= createBackend(defaultBackend()));
  return new Proxy({} as FirewallBackend, {
    get(_target, key) {
      const value = (get() as unknown as Record<PropertyKey, unknown>)[key];
      return typeof value === 'function' ? value.bind(get()) : value;
    },
  });
}
