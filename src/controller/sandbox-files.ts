/** Writes a sandbox's hostname, hosts and resolv.conf from its record and endpoints (libnetwork's sandbox_dns). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DaemonConfig } from '../config';
import { type DnsOverrides, renderHostname, renderHosts, renderResolvConf, writeSandboxFile } from '../dns';
import { DNS_ENABLED_LABEL } from '../dns/constants';
import type { Network, Sandbox } from '../model';
import { keys } from '../store/store';
import { type Core, networkById, sandboxDir, sandboxEndpoints, withInfo } from './core';

const HOST_RESOLV_CONF = process.env.TSNET_HOST_RESOLV_CONF ?? '/etc/resolv.conf';

/** Whether the embedded resolver serves this network: user-defined, DNS-capable drivers only (not the default bridge), unless labelled off. */
export function servesDns(core: Pick<Core, 'drivers'>, net: Network): boolean {
  const driver = core.drivers.get(net.driver);
  return !!driver?.capabilities.dns && withInfo(core, net).info.dns && net.labels?.[DNS_ENABLED_LABEL] !== 'false';
}

/** The sandbox's --dns, --dns-search and --dns-opt, each falling back to the daemon config's default. */
export function dnsOverrides(sb: Sandbox, config: DaemonConfig): DnsOverrides {
  const pick = (own: string[], dflt: string[] | undefined) => (own.length ? own : dflt ?? []);
  return { servers: pick(sb.dns.servers, config.dns), search: pick(sb.dns.search, config['dns-search']), options: pick(sb.dns.options, config['dns-opts']) };
}

/**
 * Hosts lines of a sandbox's legacy links, as Docker writes them: the linked sandbox's addresses on
 * a network both share, answering to the alias, its hostname and (when the alias differs) its name.
 * A linked sandbox that is gone, or no longer shares a network, is left out.
 */
async function linkHosts(core: Core, sb: Sandbox, networkIds: string[]): Promise<{ ip: string; names: string[] }[]> {
  const out: { ip: string; names: string[] }[] = [];
  for (const link of sb.links ?? []) {
    const target = await core.local.get<Sandbox>(keys.sandbox(link.id));
    const ep = target && (await sandboxEndpoints(core, target.id)).find((e) => networkIds.includes(e.networkId));
    if (!target || !ep) continue;
    const names = [link.alias, target.hostname, ...(link.alias !== target.name ? [target.name] : [])];
    for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) out.push({ ip: cidr.split('/')[0], names });
  }
  return out;
}

/** Re-renders the three files of a sandbox (of the sandbox whose stack it shares, in container mode). */
export async function refreshSandboxFiles(core: Core, sb: Sandbox): Promise<void> {
  const owner = sb.sharedWith ? (await core.local.get<Sandbox>(keys.sandbox(sb.sharedWith))) ?? sb : sb;
  const dir = sandboxDir(core, owner.id);
  fs.mkdirSync(dir, { recursive: true });
  const eps = await sandboxEndpoints(core, owner.id);
  const nets = (await Promise.all(eps.map((ep) => networkById(core, ep.networkId)))).filter((n): n is Network => !!n);
  let hostResolvConf = '';
  try {
    hostResolvConf = fs.readFileSync(HOST_RESOLV_CONF, 'utf8');
  } catch {
    // No host resolv.conf: the fallback servers apply.
  }
  // host-gateway in --add-host means the default bridge's gateway, as in Docker.
  const bridgeId = await core.local.get<string>(keys.networkName('bridge'));
  const hostGateway = bridgeId ? (await core.local.get<Network>(keys.network(bridgeId)))?.ipam[0]?.gateway : undefined;
  const addresses = eps.flatMap((ep) => [ep.ipv4, ep.ipv6]).filter((a): a is string => !!a);
  writeSandboxFile(path.join(dir, 'hostname'), renderHostname(owner.hostname));
  const links = await linkHosts(core, owner, eps.map((e) => e.networkId));
  writeSandboxFile(path.join(dir, 'hosts'), renderHosts({ hostname: owner.hostname, domainname: owner.domainname, name: owner.name, addresses, extraHosts: owner.extraHosts, hostGateway, links }));
  writeSandboxFile(path.join(dir, 'resolv.conf'), renderResolvConf({
    hostResolvConf, embeddedDns: nets.some((n) => servesDns(core, n)), overrides: dnsOverrides(owner, core.config), ipv6: eps.some((ep) => ep.ipv6),
  }));
}
