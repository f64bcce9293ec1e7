/**
 * Rules between daemon.json keys, as dockerd's verifyDaemonSettings and getDefaultBridgeIPAMConf
 * apply them (bip with bridge, icc=false without a firewall, fixed-cidr inside bip…). Each returns
 * the problems it finds, one sentence each, naming the keys and values.
 */
import { canonicalSubnet, contains, networkOf, splitCidr } from '../kernel/addr';
import type { DaemonConfig } from './keys';

/** `a` lies inside `b` (both CIDRs of one family). */
function within(a: string, b: string): boolean {
  const x = networkOf(a), y = networkOf(b);
  return x.family === y.family && x.prefix >= y.prefix && x.base >= y.base && x.base + x.size <= y.base + y.size;
}

/** Problems between the keys of a config whose single values are already valid. */
export function crossKeyProblems(c: DaemonConfig): string[] {
  const out: string[] = [];
  if (c.bip && c.bridge) out.push(`"bip" and "bridge" are mutually exclusive: bip shapes tsnet's own default bridge, bridge adopts ${c.bridge === 'none' ? 'none' : `the existing ${c.bridge}`} as it is; remove one`);
  if (c.icc === false && c.iptables === false) out.push('"icc": false needs the firewall, but "iptables" is false: set icc or iptables to true');
  else if (c.icc === false && c.ipv6 && c.ip6tables === false) out.push('"icc": false needs the IPv6 firewall, but "ip6tables" is false with "ipv6": true: set icc or ip6tables to true');
  const fixed = c['fixed-cidr'];
  if (fixed && c.bip && !within(fixed, c.bip)) out.push(`"fixed-cidr": ${fixed} is not inside bip ${c.bip}`);
  const gw = c['default-gateway'];
  if (gw) {
    const subnet = c.bip ?? fixed;
    const what = c.bip ? 'bip' : 'fixed-cidr';
    if (!subnet && !c.bridge) out.push(`"default-gateway": ${gw} needs "bip" or "fixed-cidr", the subnet it must lie inside`);
    else if (subnet && !contains(subnet, gw)) out.push(`"default-gateway": ${gw} is not inside ${what} ${subnet}`);
    else if (subnet && isEdge(subnet, gw)) out.push(`"default-gateway": ${gw} is the network or broadcast address of ${canonicalSubnet(subnet)}`);
    else if (c.bip && splitCidr(c.bip).ip === gw) out.push(`"default-gateway": ${gw} is the bridge's own address (bip ${c.bip}); leave default-gateway out for that`);
  }
  // The IPv6 keys are inert without "ipv6": true, as in dockerd.
  const gw6 = c['default-gateway-v6'];
  if (c.ipv6 && gw6) {
    const fixed6 = c['fixed-cidr-v6'];
    if (!fixed6) out.push(`"default-gateway-v6": ${gw6} needs "fixed-cidr-v6", the subnet it must lie inside`);
    else if (!contains(fixed6, gw6)) out.push(`"default-gateway-v6": ${gw6} is not inside fixed-cidr-v6 ${fixed6}`);
  }
  if (c.ipv6 && c['fixed-cidr-v6'] && splitCidr(c['fixed-cidr-v6']).prefix > 126) out.push(`"fixed-cidr-v6": ${c['fixed-cidr-v6']} leaves no room for sandboxes: the longest prefix is /126`);
  if (fixed && !c.bip && splitCidr(fixed).prefix > 30) out.push(`"fixed-cidr": ${fixed} leaves no room for sandboxes: the longest prefix is /30`);
  return out;
}

/** Whether ip is the network or broadcast address of the IPv4 subnet (a /31 or /32 has neither). */
function isEdge(subnet: string, ip: string): boolean {
  const n = networkOf(subnet);
  if (n.family !== 4 || n.prefix >= 31) return false;
  const host = networkOf(`${ip}/32`).base;
  return host === n.base || host === n.base + n.size - 1n;
}

/** Notes for keys tsnet takes but whose Docker meaning it fulfils differently (said by `tsnet daemon` and --validate). */
export function keyNotes(c: DaemonConfig): string[] {
  const out: string[] = [];
  if (c['userland-proxy'] === true) out.push('"userland-proxy": true: tsnet publishes ports without a userland proxy (in-kernel DNAT, localhost and hairpin included), so there is none to start');
  if (c.iptables === false) out.push('"iptables": false: tsnet programs no firewall at all (no NAT, no isolation) and refuses -p, having no proxy to fall back on');
  if (c.iptables === false && c['ip-masq'] !== false) out.push('"iptables": false turns "ip-masq" off, as in dockerd');
  return out;
}
