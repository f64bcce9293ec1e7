/**
 * /etc/hosts for sandboxes, as Docker writes it (libnetwork etchosts/): the loopback and IPv6
 * well-known lines, then --add-host entries, then the sandbox's own addresses.
 */
import { InvalidArgumentError } from '../../errors';
import { family } from '../../kernel/addr';
import { validateHostname } from './hostname';

/** Docker's default lines; the IPv6 ones are left out when the sandbox has no IPv6 (Docker 26+). */
const LOOPBACK_V4 = ['127.0.0.1\tlocalhost'];
const LOOPBACK_V6 = [
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];
/** The --add-host address Docker replaces with the host's gateway address. */
export const HOST_GATEWAY = 'host-gateway';

/** Inputs of renderHosts. */
export interface HostsInput {
  hostname: string;
  /** Domain name (--domainname); the own lines then start with the FQDN. */
  domainname?: string;
  /** Sandbox (container) name, added to the own lines when it differs from the hostname. */
  name?: string;
  /** The sandbox's addresses, without prefix length (a CIDR's prefix is dropped). */
  addresses: string[];
  /** --add-host entries: "name:ip" or "name=ip"; IPv6 as "name:::1" or "name:[::1]". */
  extraHosts?: string[];
  /** Address "host-gateway" stands for in extraHosts. */
  hostGateway?: string;
  /** Whether the sandbox has IPv6 (default true): without it the IPv6 default lines are left out. */
  ipv6?: boolean;
  /** Legacy links: an address and the names it answers to (alias, hostname, name), after the --add-host entries. */
  links?: { ip: string; names: string[] }[];
}

/** One --add-host entry split into name and address; throws on anything malformed. */
export function parseExtraHost(entry: string, hostGateway?: string): { name: string; ip: string } {
  const eq = entry.indexOf('=');
  const sep = eq > 0 ? eq : entry.indexOf(':');
  const name = sep > 0 ? entry.slice(0, sep) : '';
  let ip = sep > 0 ? entry.slice(sep + 1).replace(/^\[(.*)\]$/, '$1') : '';
  if (ip === HOST_GATEWAY) {
    if (!hostGateway) throw new InvalidArgumentError(`--add-host ${entry}: no host gateway address is known`);
    ip = hostGateway;
  }
  if (!name || /\s/.test(name) || !family(ip)) throw new InvalidArgumentError(`--add-host ${entry}: expected NAME:IP`);
  return { name, ip };
}

/** The sandbox's hosts file text. */
export function renderHosts(input: HostsInput): string {
  validateHostname(input.hostname);
  const ipv6 = input.ipv6 ?? true;
  const lines = [...LOOPBACK_V4, ...(ipv6 ? LOOPBACK_V6 : [])];
  for (const entry of input.extraHosts ?? []) {
    const { name, ip } = parseExtraHost(entry, input.hostGateway);
    lines.push(`${ip}\t${name}`);
  }
  for (const link of input.links ?? []) lines.push(`${link.ip}\t${link.names.join(' ')}`);
  const fqdn = input.domainname ? `${input.hostname}.${input.domainname}` : input.hostname;
  const names = [...new Set([fqdn, input.hostname, ...(input.name ? [input.name] : [])])].join(' ');
  for (const cidr of input.addresses) {
    const ip = cidr.replace(/\/\d+$/, '');
    if (!family(ip)) throw new InvalidArgumentError(`hosts file for ${input.hostname}: invalid address "${cidr}"`);
    lines.push(`${ip}\t${names}`);
  }
  return lines.join('\n') + '\n';
}
