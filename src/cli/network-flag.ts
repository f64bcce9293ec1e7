/**
 * `--network` of `run` / `sandbox create` as Docker 25's CLI reads it (opts/network.go,
 * parseNetworkOpts): repeatable, each a name or `name=NET,alias=A,ip=IP,ip6=IP,mac-address=M,
 * link-local-ip=IP,driver-opt=K=V`; the container-wide --ip, --ip6, --alias, --mac-address and
 * --link-local-ip apply to the first network and conflict with that network's own fields.
 */
import type { NetworkAttachment } from '../index';
import { invalid } from './lazy';

/** One --network value as an attachment. */
export function parseNetworkFlag(value: string): NetworkAttachment {
  if (!value.includes('=')) return { network: value };
  const att: NetworkAttachment = { network: '' };
  for (const field of value.split(',')) {
    const i = field.indexOf('=');
    if (i < 1) throw invalid(`--network ${value}: invalid field '${field}' must be a key=value pair`);
    const [key, val] = [field.slice(0, i).toLowerCase(), field.slice(i + 1)];
    switch (key) {
      case 'name': att.network = val; break;
      case 'alias': att.aliases = [...(att.aliases ?? []), val]; break;
      case 'ip': att.ip = val; break;
      case 'ip6': att.ip6 = val; break;
      case 'mac-address': att.mac = val; break;
      case 'link-local-ip': att.linkLocalIps = [...(att.linkLocalIps ?? []), val]; break;
      case 'driver-opt': {
        const j = val.indexOf('=');
        if (j < 1) throw invalid(`--network ${value}: invalid driver-opt '${val}': expected KEY=VALUE`);
        att.driverOpts = { ...att.driverOpts, [val.slice(0, j)]: val.slice(j + 1) };
        break;
      }
      default: throw invalid(`--network ${value}: invalid field key ${key}`);
    }
  }
  if (!att.network) throw invalid(`--network ${value}: network name is required (name=NET)`);
  return att;
}

/** The container-wide options that go to the first network. */
export interface ContainerWide { ip?: string; ip6?: string; aliases: string[]; mac?: string; linkLocalIps: string[] }

/** The networks to join, in order, with the container-wide options merged into the first; [] means the default network. */
export function networkAttachments(values: string[], wide: ContainerWide): NetworkAttachment[] {
  const atts = values.map(parseNetworkFlag);
  const seen = new Set<string>();
  for (const a of atts) {
    if (seen.has(a.network)) throw invalid(`network "${a.network}" is specified multiple times`);
    seen.add(a.network);
  }
  if (!atts.length) return [];
  const first = atts[0];
  const conflict = (both: boolean, flag: string, what: string) => { if (both) throw invalid(`conflicting options: cannot specify both ${flag} and per-network ${what}`); };
  conflict(!!wide.aliases.length && !!first.aliases?.length, '--alias', 'alias');
  conflict(!!wide.ip && !!first.ip, '--ip', 'IPv4 address');
  conflict(!!wide.ip6 && !!first.ip6, '--ip6', 'IPv6 address');
  conflict(!!wide.mac && !!first.mac, '--mac-address', 'MAC address');
  conflict(!!wide.linkLocalIps.length && !!first.linkLocalIps?.length, '--link-local-ip', 'link-local IP addresses');
  atts[0] = {
    ...first, ip: first.ip ?? wide.ip, ip6: first.ip6 ?? wide.ip6, mac: first.mac ?? wide.mac,
    aliases: first.aliases ?? wide.aliases, linkLocalIps: first.linkLocalIps ?? wide.linkLocalIps,
  };
  return atts;
}
