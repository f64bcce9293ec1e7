/** Writes a sandbox's hostname, hosts and resolv.conf from its record and endpoints (libnetwork's sandbox_dns). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitCidr } from '../kernel/addr';
import type { Endpoint, Network, Sandbox } from '../model';
import { keys } from '../store/store';
import { type Core, sandboxDir, sandboxEndpoints } from './core';

/** The resolver address inside sandboxes on user-defined networks, as Docker's. */
export const EMBEDDED_DNS = '127.0.0.11';
const HOST_RESOLV_CONF = process.env.TSNET_HOST_RESOLV_CONF ?? '/etc/resolv.conf';
/** Docker's fallback when the host has only loopback resolvers. */
const FALLBACK_DNS = ['8.8.8.8', '8.8.4.4'];

const HOSTS_HEADER = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

/** Whether the embedded resolver serves this network: user-defined, DNS-capable drivers only (not the default bridge). */
export function servesDns(core: Core, net: Network): boolean {
  const driver = core.drivers.get(net.driver);
  return !!driver?.capabilities.dns && net.options['com.docker.network.bridge.default_bridge'] !== 'true';
}

/** hosts file: loopback lines, --add-host entries, then the sandbox's own addresses. */
export function renderHosts(sb: Sandbox, eps: Endpoint[]): string {
  const lines = [...HOSTS_HEADER];
  for (const h of sb.extraHosts) {
    const i = h.indexOf(':');
    lines.push(`${h.slice(i + 1).replace(/^\[|\]$/g, '')}\t${h.slice(0, i)}`);
  }
  const names = sb.hostname === sb.name ? sb.name : `${sb.hostname} ${sb.name}`;
  for (const ep of eps) for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) lines.push(`${splitCidr(cidr).ip}\t${names}`);
  return lines.join('\n') + '\n';
}

/** Nameservers of a resolv.conf text. */
export function nameservers(text: string): string[] {
  return text.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s);
}

/** resolv.conf: the embedded resolver on user-defined networks, otherwise the host's servers without loopback ones. */
export function renderResolvConf(sb: Sandbox, embedded: boolean, hostText: string, config: { dns?: string[]; 'dns-search'?: string[]; 'dns-opts'?: string[] } = {}): string {
  const configDns = config.dns ?? [];
  const hostSearch = hostText.split('\n').map((l) => /^\s*search\s+(.+)/.exec(l)?.[1]).filter(Boolean).join(' ').split(/\s+/).filter(Boolean);
  const search = sb.dns.search.length ? sb.dns.search : config['dns-search']?.length ? config['dns-search'] : hostSearch;
  let servers: string[];
  let options = sb.dns.options.length ? sb.dns.options : config['dns-opts'] ?? [];
  if (embedded) {
    servers = [EMBEDDED_DNS];
    if (!options.some((o) => o.startsWith('ndots:'))) options = ['ndots:0', ...options];
  } else {
    const wanted = sb.dns.servers.length ? sb.dns.servers : configDns.length ? configDns : nameservers(hostText);
    servers = wanted.filter((s) => !s.startsWith('127.') && s !== '::1');
    if (!servers.length) servers = FALLBACK_DNS;
  }
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Writes in place (truncate + write), not by rename: the files are bind-mounted, and a rename would detach the mount. */
function writeInPlace(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o644 });
}

/** Re-renders the three files of a sandbox (and of the sandboxes sharing its stack). */
export function refreshSandboxFiles(core: Core, sb: Sandbox): void {
  const owner = sb.sharedWith ? core.store.get<Sandbox>(keys.sandbox(sb.sharedWith)) ?? sb : sb;
  const dir = sandboxDir(core, owner.id);
  fs.mkdirSync(dir, { recursive: true });
  const eps = sandboxEndpoints(core.store, owner.id);
  const embedded = eps.some((ep) => {
    const net = core.store.get<Network>(keys.network(ep.networkId));
    return !!net && servesDns(core, net);
  });
  let hostText = '';
  try {
    hostText = fs.readFileSync(HOST_RESOLV_CONF, 'utf8');
  } catch {
    // No host resolv.conf: the fallback servers apply.
  }
  writeInPlace(path.join(dir, 'hostname'), owner.hostname + '\n');
  writeInPlace(path.join(dir, 'hosts'), renderHosts(owner, eps));
  writeInPlace(path.join(dir, 'resolv.conf'), renderResolvConf(owner, embedded, hostText, core.config));
}
