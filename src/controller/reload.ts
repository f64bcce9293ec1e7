/**
 * A running daemon taking a changed daemon config (SIGHUP), as dockerd's Reload: the keys that may
 * change at run time apply from now on, the others keep their running value until a restart.
 */
import { type DaemonConfig, RELOADABLE_KEYS, TSNET_KEYS, type TsnetKey } from '../config';
import { type BackendName, createFirewall, type FirewallPolicy } from '../firewall/firewall';
import type { Network } from '../model';
import { type Core, firewallNetwork, withInfo } from './core';
import { inFirewallTurn, reapplyFirewallNow } from './network';

/** The daemon config's firewall keys as the firewall takes them. */
export function firewallPolicy(config: DaemonConfig): FirewallPolicy {
  return { enabled: config.iptables !== false, ipv6: config.ip6tables !== false, ipForward: config['ip-forward'] !== false };
}

/** Keys whose change means a new firewall. */
const FIREWALL_KEYS: readonly TsnetKey[] = ['iptables', 'ip6tables', 'ip-forward'];

/**
 * Applies next's reloadable keys to core (dns*, default-address-pools: read per request from
 * core.config; the firewall keys: every network's rules removed and re-applied by a new firewall,
 * unless opts.firewall is false — a process that only reads, as the daemon's resolver);
 * returns which changed keys were applied and which wait for a restart.
 */
export async function reloadConfig(core: Core, next: DaemonConfig, opts: { backend?: BackendName; firewall?: boolean } = {}): Promise<{ reloaded: TsnetKey[]; needRestart: TsnetKey[] }> {
  const before = core.config;
  const changed = (Object.keys(TSNET_KEYS) as TsnetKey[]).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]));
  const reloaded = changed.filter((k) => RELOADABLE_KEYS.includes(k));
  const merged: Record<string, unknown> = { ...before };
  for (const k of reloaded) {
    if (next[k] === undefined) delete merged[k];
    else merged[k] = next[k];
  }
  core.config = merged as DaemonConfig;
  if (opts.firewall !== false && reloaded.some((k) => FIREWALL_KEYS.includes(k))) await replaceFirewall(core, opts.backend);
  return { reloaded, needRestart: changed.filter((k) => !RELOADABLE_KEYS.includes(k)) };
}

/**
 * Swaps the firewall for one built from the current config: the old one's rules go, the new one's are
 * applied; in turn with the controller's repairs, so none of them re-applies a rule through the old one.
 */
function replaceFirewall(core: Core, backend?: BackendName): Promise<void> {
  return inFirewallTurn(core, async () => {
    const nets = (await core.local.list<Network>('network/')).map((e) => withInfo(core, e.value)).filter((n) => !n.transition);
    for (const net of nets) {
      const fw = firewallNetwork(net);
      if (fw) await core.firewall.teardownNetwork(fw);
    }
    core.firewall = createFirewall({ backend: backend ?? core.config['firewall-backend'], policy: firewallPolicy(core.config) });
    await reapplyFirewallNow(core);
  });
}
