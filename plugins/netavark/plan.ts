/**
 * What setup will do, decided from the network options before any side effect, with netavark 1.4's
 * checks and messages (bridge.rs / macvlan.rs validate, core_utils get_ipam_addresses) plus tsnet's
 * own refusals for what it does not implement. Every network is checked before any is set up.
 */
import { canonicalSubnet, contains, DNS_DOMAIN_LABEL, DNS_ENABLED_LABEL, family, type NetworkSpec, podmanBridgeOptions, podmanMacvlanOptions, type PortRequest, type Protocol, splitCidr } from '../../src/index';
import type { NetworkOptions, PerNetworkOptions, PodmanNetwork } from './contract';
import { NetavarkError } from './errors';

/** Label on the tsnet networks this face makes: the podman network's id. */
export const NETAVARK_LABEL = 'dev.tsnet.netavark';
/** The search domain aardvark-dns answers under, returned to podman for resolv.conf. */
export const PODMAN_SEARCH_DOMAIN = 'dns.podman';
/** Options netavark 1.4 reads on a bridge network. */
const BRIDGE_OPTIONS = new Set(['mtu', 'isolate', 'metric']);
/** Options netavark 1.4 reads on a macvlan network. */
const MACVLAN_OPTIONS = new Set(['mtu', 'mode', 'metric']);
/** netavark's default route metric: the only one tsnet's routes have. */
const DEFAULT_METRIC = 100;

/** One subnet of the network and the container's address in it. */
export interface SubnetAddress {
  subnet: string;
  gateway?: string;
  /** The container's address with the subnet's prefix length (the status block's ipnet). */
  ipnet: string;
}

/** What one network of a setup asks for. */
export interface NetworkPlan {
  /** Podman's network name: the tsnet network's name too. */
  name: string;
  network: PodmanNetwork;
  /** How to create the tsnet network when it is missing (macvlan's parent is found at setup when podman names none). */
  spec: NetworkSpec;
  ifname: string;
  ip?: string;
  ip6?: string;
  mac?: string;
  /** Names on this network beside the container name: --network-alias values and the short id. */
  aliases: string[];
  /** Whether the embedded resolver serves the network (dns_enabled on a bridge). */
  dns: boolean;
  subnets: SubnetAddress[];
  /** Whether ports can be published through it (bridges, not internal ones). */
  publishes: boolean;
}

/** A whole setup or teardown. */
export interface SetupPlan {
  containerId: string;
  containerName: string;
  /** In a fixed order (by name), so port mappings always land on the same network. */
  networks: NetworkPlan[];
  ports: PortRequest[];
  /** The container's --dns servers: the resolver's upstreams for it, or resolv.conf's when no network serves names. */
  dnsServers: string[];
}

const fail = (msg: string) => new NetavarkError(msg);

/** netavark's parse_option: the option parsed, or the default when absent. */
function option<T>(net: PodmanNetwork, name: string, dflt: T, parse: (v: string) => T | undefined, why: string): T {
  const v = net.options?.[name];
  if (v === undefined) return dflt;
  const parsed = parse(v);
  if (parsed === undefined) throw fail(`unable to parse "${name}": ${why}`);
  return parsed;
}

const u32 = (v: string) => (/^\d+$/.test(v) && Number(v) <= 0xffffffff ? Number(v) : undefined);
const bool = (v: string) => (v === 'true' ? true : v === 'false' ? false : undefined);

/** The container's addresses, one per subnet in order (get_ipam_addresses), checked against their subnets. */
function addresses(net: PodmanNetwork, opts: PerNetworkOptions): SubnetAddress[] {
  const driver = net.ipam_options?.driver;
  if (driver === 'dhcp') throw fail('dhcp ipam driver is not yet supported');
  if (driver === 'none') throw fail(`network ${net.name}: ipam driver none (no addresses) is not supported by tsnet`);
  if (driver !== undefined && driver !== 'host-local') throw fail(`unsupported ipam driver ${driver}`);
  const ips = opts.static_ips;
  if (!ips) throw fail('no static ips provided');
  const subnets = net.subnets ?? [];
  if (!subnets.length) throw fail(`network ${net.name}: has no subnets`);
  return subnets.map((s, i) => {
    let subnet: string;
    try {
      subnet = canonicalSubnet(s.subnet);
    } catch {
      throw fail(`network ${net.name}: invalid subnet "${s.subnet}"`);
    }
    const ip = ips[i];
    if (ip === undefined) throw fail(`network ${net.name}: no static ip for subnet ${subnet}`);
    if (!family(ip) || !contains(subnet, ip)) throw fail(`network ${net.name}: static ip ${ip} is not in subnet ${subnet}`);
    if (s.gateway && (!family(s.gateway) || !contains(subnet, s.gateway))) throw fail(`network ${net.name}: gateway ${s.gateway} is not in subnet ${subnet}`);
    return { subnet, gateway: s.gateway ?? undefined, ipnet: `${ip}/${splitCidr(subnet).prefix}` };
  });
}

/** One address per family, as a tsnet interface holds them. */
function perFamily(name: string, subnets: SubnetAddress[]): { ip?: string; ip6?: string } {
  const out: { ip?: string; ip6?: string } = {};
  for (const s of subnets) {
    const { ip, family: fam } = splitCidr(s.ipnet);
    const key = fam === 4 ? 'ip' : 'ip6';
    if (out[key]) throw fail(`network ${name}: two IPv${fam} subnets: tsnet gives an interface one address per family`);
    out[key] = ip;
  }
  return out;
}

/** Refuses options netavark would read that tsnet does not implement, and keys neither knows. */
function checkOptions(net: PodmanNetwork, known: Set<string>): void {
  for (const key of Object.keys(net.options ?? {})) {
    if (!known.has(key)) throw fail(`network ${net.name}: unsupported ${net.driver} option "${key}" (tsnet-netavark reads ${[...known].join(', ')})`);
  }
  const metric = option(net, 'metric', DEFAULT_METRIC, u32, 'invalid digit found in string');
  if (metric !== DEFAULT_METRIC) throw fail(`network ${net.name}: option metric=${metric} is not supported by tsnet (default routes have netavark's metric ${DEFAULT_METRIC})`);
}

/** The tsnet network a bridge network maps to: podman's device name, its subnets, masquerade unless internal. */
function bridgeSpec(net: PodmanNetwork): NetworkSpec {
  if (!net.network_interface) throw fail('no bridge interface name given');
  checkOptions(net, BRIDGE_OPTIONS);
  const mtu = option(net, 'mtu', 0, u32, 'invalid digit found in string');
  // tsnet isolates networks from each other either way: isolate=true is what it does.
  option(net, 'isolate', false, bool, 'provided string was not `true` or `false`');
  return { name: net.name, driver: 'bridge', options: podmanBridgeOptions({ device: net.network_interface, mtu }), ...commonSpec(net) };
}

/** A macvlan network: podman's network_interface is the parent (found at setup when empty: the default route's device). */
function macvlanSpec(net: PodmanNetwork): NetworkSpec {
  checkOptions(net, MACVLAN_OPTIONS);
  const mode = net.options?.mode ?? '';
  if (mode === 'source') throw fail(`network ${net.name}: macvlan mode "source" is not supported by tsnet`);
  if (!['', 'bridge', 'private', 'vepa', 'passthru'].includes(mode)) throw fail(`invalid macvlan mode "${mode}"`);
  if (option(net, 'mtu', 0, u32, 'invalid digit found in string')) throw fail(`network ${net.name}: option mtu on a macvlan network is not supported by tsnet (the interface takes its parent's)`);
  const options = podmanMacvlanOptions({ parent: net.network_interface ?? undefined, mode: (mode || 'bridge') as Parameters<typeof podmanMacvlanOptions>[0]['mode'] });
  return { name: net.name, driver: 'macvlan', options, ...commonSpec(net) };
}

/** What every driver's spec shares: subnets, internal, and the labels that tie it to podman's network. */
function commonSpec(net: PodmanNetwork): Pick<NetworkSpec, 'ipam' | 'ipv6' | 'internal' | 'labels'> {
  const ipam = (net.subnets ?? []).map((s) => ({ subnet: canonicalSubnet(s.subnet), gateway: s.gateway ?? undefined }));
  const labels: Record<string, string> = { [NETAVARK_LABEL]: net.id };
  if (net.driver === 'bridge' && net.dns_enabled) labels[DNS_DOMAIN_LABEL] = PODMAN_SEARCH_DOMAIN;
  else labels[DNS_ENABLED_LABEL] = 'false';
  return { ipam, ipv6: ipam.some((p) => family(p.subnet.split('/')[0]) === 6), internal: net.internal, labels };
}

/** A MAC in podman's form, checked (netavark decode_address_from_hex). */
function staticMac(mac: string | null | undefined): string | undefined {
  if (!mac) return undefined;
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw fail(`invalid mac address "${mac}"`);
  return mac.toLowerCase();
}

/** One network's plan (netavark's driver validate). */
function networkPlan(name: string, net: PodmanNetwork, opts: PerNetworkOptions | undefined): NetworkPlan {
  if (!opts) throw fail(`network options for network ${name} not found`);
  if (net.driver !== 'bridge' && net.driver !== 'macvlan') throw fail(`unknown network driver ${net.driver}`);
  if (!opts.interface_name) throw fail('no container interface name given');
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(opts.interface_name)) throw fail(`invalid container interface name "${opts.interface_name}"`);
  if (net.network_dns_servers?.length) throw fail(`network ${name}: network_dns_servers is not supported by tsnet`);
  const named = { ...net, name };
  const spec = net.driver === 'bridge' ? bridgeSpec(named) : macvlanSpec(named);
  const subnets = addresses(named, opts);
  const dns = net.driver === 'bridge' && net.dns_enabled;
  return {
    name, network: named, spec, ifname: opts.interface_name, mac: staticMac(opts.static_mac), ...perFamily(name, subnets),
    // netavark ignores aliases on networks without DNS.
    aliases: dns ? [...new Set(opts.aliases ?? [])] : [], dns, subnets, publishes: net.driver === 'bridge' && !net.internal,
  };
}

/** Port mappings as tsnet port requests: each port of a range and each protocol of a list on its own. */
export function portRequests(mappings: NetworkOptions['port_mappings']): PortRequest[] {
  const out: PortRequest[] = [];
  for (const [i, m] of (mappings ?? []).entries()) {
    const range = m.range || 1;
    if (m.host_port + range - 1 > 65535 || m.container_port + range - 1 > 65535) throw fail(`port mapping ${i}: host_port/container_port + range must be less than 65536`);
    if (m.container_port === 0) throw fail(`port mapping ${i}: container_port 0 is not a port`);
    if (m.host_ip && !family(m.host_ip)) throw fail(`port mapping ${i}: host_ip "${m.host_ip}" is not an IP address`);
    for (const proto of (m.protocol || 'tcp').split(',')) {
      if (!['tcp', 'udp', 'sctp'].includes(proto)) throw fail(`port mapping ${i}: unknown protocol "${proto}"`);
      for (let k = 0; k < range; k++) {
        const hostPort = m.host_port ? m.host_port + k : 0;
        out.push({ protocol: proto as Protocol, containerPort: m.container_port + k, hostIp: m.host_ip, hostPort, hostPortEnd: hostPort });
      }
    }
  }
  return out;
}

/** The plan of a setup (or teardown): every network and port checked, nothing touched. */
export function setupPlan(o: NetworkOptions): SetupPlan {
  const networks = Object.keys(o.network_info).sort().map((name) => networkPlan(name, o.network_info[name], o.networks[name]));
  const ifnames = networks.map((n) => n.ifname);
  const twice = ifnames.find((n, i) => ifnames.indexOf(n) !== i);
  if (twice) throw fail(`interface ${twice} is asked for on two networks`);
  for (const ip of o.dns_servers ?? []) if (!family(ip)) throw fail(`dns server "${ip}" is not an IP address`);
  return { containerId: o.container_id, containerName: o.container_name, networks, ports: portRequests(o.port_mappings), dnsServers: o.dns_servers ?? [] };
}
