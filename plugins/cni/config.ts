/**
 * The network configuration: schema check (ajv), then every semantic check, before any side effect.
 * Produces what the handlers act on: the tsnet network to use (and how to create it), and what one
 * attachment asks for (static addresses, MAC, aliases, DNS, port mappings, routes).
 */
import { cniBridgeOptions, contains, DNS_LISTEN_ADDRESS, driverNames, family, isSandboxName, type NetworkSpec, type PortRequest, type Protocol, splitCidr } from '../../src/index';
import { CniCode, CniError } from './codes';
import { type CniIpam, type CniRange, ipamPools, ipamRoutes } from './ipam';
import type { CniDns } from './result';
import type { CniRequest } from './skel';
import { cniConfigValidator } from './validate';

/** The config keys the handlers read, as the schema admits them. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  bridge?: string;
  isGateway?: boolean;
  isDefaultGateway?: boolean;
  ipMasq?: boolean;
  hairpinMode?: boolean;
  mtu?: number;
  ipam?: CniIpam;
  /**
   * The spec's DNS block: with the embedded resolver, its nameservers are the resolver's upstreams for
   * the container and its search/options/domain go into the result beside 127.0.0.11; without, it is
   * the result's DNS as it is. A boolean (tsnet before 0.3: true turned the resolver on) is still read.
   */
  dns?: boolean | CniDns;
  /** false: no embedded resolver for this config (it is on by default on networks that serve names). */
  embeddedDNS?: boolean;
  /** tsnet driver of a network made on first ADD (default bridge; the bridge keys above apply to it only). */
  driver?: string;
  /** Attach to this existing tsnet network (made by `tsnet create`) instead of one named after `name`. */
  network?: string;
  args?: { cni?: { ips?: unknown; mac?: unknown } };
  runtimeConfig?: RuntimeConfig;
  'cni.dev/valid-attachments'?: { containerID: string; ifname: string }[];
  'cni.dev/attachments'?: { containerID: string; ifname: string }[];
}

/** Capability arguments a runtime passes (CNI CONVENTIONS.md). */
export interface RuntimeConfig {
  portMappings?: { hostPort: number; containerPort: number; protocol?: string; hostIP?: string }[];
  ips?: string[];
  mac?: string;
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  aliases?: string[] | Record<string, string[]>;
  /** host-local's: range sets that replace the config's ipam ranges (used when the network is made, checked against one that exists). */
  ipRanges?: CniRange[][];
  /** The reference bandwidth plugin's capability: refused here (chain that plugin instead). */
  bandwidth?: Record<string, number>;
}

/** What the plugin does for one config: the network side. */
export interface NetworkPlan {
  /** tsnet network name. */
  name: string;
  /** How to create it when missing; undefined for `network` (it must exist). */
  create?: NetworkSpec;
  /** Extra routes to set in the container. */
  routes: { dst: string; gw?: string }[];
  hairpin: boolean;
  /** ipMasq when the config sets it (compared against an existing network). */
  ipMasq?: boolean;
  /** Subnets runtimeConfig.ipRanges asks for; an existing network must have them. */
  rangeSubnets: string[];
  /** Whether the config wants the embedded resolver (it answers only where the network serves names). */
  embeddedDns: boolean;
  /** The spec's DNS block of the config ({} when none). */
  dns: CniDns;
}

/** What one attachment asks for. */
export interface AttachmentPlan {
  /** The container's name as the runtime gives it (K8S_POD_NAME, `NAME.NAMESPACE` with K8S_POD_NAMESPACE). */
  runtimeName?: string;
  /** Kubernetes' identity of the pod, kept on the container's record. */
  pod?: PodIdentity;
  ip?: string;
  ip6?: string;
  mac?: string;
  aliases: string[];
  dns?: { servers: string[]; search: string[]; options: string[] };
  ports: PortRequest[];
}

/** What CNI_ARGS say about a Kubernetes pod (the K8S_POD_* convention). */
export interface PodIdentity {
  name?: string;
  namespace?: string;
  uid?: string;
  infraContainerId?: string;
}

/** Keys of the reference bridge plugin tsnet does not implement, with the value that means "off". */
const UNSUPPORTED_BRIDGE_KEYS: Record<string, unknown> = {
  vlan: 0, vlanTrunk: undefined, preserveDefaultVlan: undefined, promiscMode: false, macspoofchk: false, enabledad: false, isGateway: true,
};
/** Keys that configure the bridge driver, with the value that asks nothing of another driver. */
const BRIDGE_ONLY_KEYS: Record<string, unknown> = { bridge: undefined, mtu: undefined, ipMasq: false, hairpinMode: false };
/** CNI_ARGS keys understood; others need IgnoreUnknown=1 (as the reference plugins' LoadArgs). */
const KNOWN_ARGS = new Set(['IgnoreUnknown', 'IP', 'MAC', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID']);
/** Label on networks the plugin created, so `tsnet inspect` tells them apart. */
export const CNI_LABEL = 'dev.tsnet.cni';

const invalid = (msg: string) => new CniError(CniCode.InvalidNetworkConfig, `invalid network config: ${msg}`);

/** Validates raw against the schema and the unsupported-key table; code 7 (or 2) naming every problem. */
export function parseNetConf(raw: Record<string, unknown>): NetConf {
  const validate = cniConfigValidator();
  if (!validate(raw)) {
    const why = (validate.errors ?? []).filter((e) => e.keyword !== 'oneOf').map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw invalid([...new Set(why)].join('; '));
  }
  for (const [key, off] of Object.entries(UNSUPPORTED_BRIDGE_KEYS)) {
    const v = raw[key];
    if (v === undefined || v === off || (Array.isArray(v) && v.length === 0)) continue;
    throw new CniError(CniCode.UnsupportedField, `unsupported field: ${key}=${JSON.stringify(v)} is not implemented by tsnet`);
  }
  const conf = raw as unknown as NetConf;
  if (conf.network && (conf.bridge || conf.mtu !== undefined || conf.ipMasq !== undefined || conf.driver || conf.ipam?.subnet || conf.ipam?.ranges)) {
    throw invalid('"network" attaches to an existing tsnet network: bridge, mtu, ipMasq, driver and ipam subnets come from that network, not the config');
  }
  if (conf.driver === 'host' || conf.driver === 'null') throw invalid(`driver "${conf.driver}" gives the container no interface of its own`);
  if (conf.driver && !driverNames().includes(conf.driver)) throw invalid(`unknown driver "${conf.driver}": known drivers are ${driverNames().join(', ')}`);
  if (conf.driver && conf.driver !== 'bridge') {
    const bridgeOnly = Object.entries(BRIDGE_ONLY_KEYS).filter(([key, off]) => raw[key] !== undefined && raw[key] !== off).map(([key]) => key);
    if (bridgeOnly.length) throw invalid(`${bridgeOnly.join(', ')} ${bridgeOnly.length > 1 ? 'apply' : 'applies'} to the bridge driver only, not "${conf.driver}"`);
  }
  return conf;
}

/** Whether the config wants the embedded resolver: on unless `embeddedDNS` (or the old boolean `dns`) is false. */
export function wantsEmbeddedDns(conf: NetConf): boolean {
  return conf.embeddedDNS !== false && conf.dns !== false;
}

/** The result's DNS block: 127.0.0.11 with the config's search and options when the resolver serves the network, else the config's block as it is. */
export function resultDns(plan: NetworkPlan, served: boolean): CniDns {
  if (!plan.embeddedDns || !served) return { ...plan.dns };
  const { domain, search, options } = plan.dns;
  return { nameservers: [DNS_LISTEN_ADDRESS], domain, search, options };
}

/** The config's ipam with runtimeConfig.ipRanges in place of its ranges, as host-local reads them. */
function effectiveIpam(conf: NetConf): CniIpam | undefined {
  const ranges = conf.runtimeConfig?.ipRanges;
  if (!ranges?.length) return conf.ipam;
  return { ...conf.ipam, subnet: undefined, rangeStart: undefined, rangeEnd: undefined, gateway: undefined, ranges };
}

/** The network side of the config: name, creation spec, routes, DNS. */
export function networkPlan(conf: NetConf): NetworkPlan {
  const routes = ipamRoutes(conf.ipam);
  const dns: CniDns = conf.dns && typeof conf.dns === 'object' ? { ...conf.dns } : {};
  const embeddedDns = wantsEmbeddedDns(conf);
  const rangeSubnets = conf.runtimeConfig?.ipRanges?.length ? ipamPools({ ranges: conf.runtimeConfig.ipRanges }).map((p) => p.subnet!) : [];
  if (conf.network) return { name: conf.network, routes, hairpin: !!conf.hairpinMode, rangeSubnets, embeddedDns, dns };
  const ipam = ipamPools(effectiveIpam(conf));
  const driver = conf.driver ?? 'bridge';
  // Other drivers take their options from a network made with `tsnet create` (and "network").
  const options = driver === 'bridge' ? cniBridgeOptions(conf) : {};
  const create: NetworkSpec = {
    name: conf.name, driver, ipam, ipv6: ipam.some((p) => family(p.subnet!.split('/')[0]) === 6), options, labels: { [CNI_LABEL]: 'true' },
  };
  // Without subnets tsnet picks one IPv4 pool; either way a route needs an address of its family.
  const families = new Set(ipam.length ? ipam.map((p) => family(p.subnet!.split('/')[0])) : [4]);
  for (const r of routes) if (!families.has(family(r.dst.split('/')[0]))) throw invalid(`route ${r.dst}: the network has no IPv${family(r.dst.split('/')[0])} subnet`);
  return { name: conf.name, create, routes, hairpin: !!conf.hairpinMode, ipMasq: conf.ipMasq, rangeSubnets, embeddedDns, dns };
}

/** Splits address lists from runtimeConfig.ips, args.cni.ips and CNI_ARGS IP into one address per family. */
function staticAddresses(lists: unknown[]): { ip?: string; ip6?: string } {
  const out: { ip?: string; ip6?: string } = {};
  for (const item of lists.flat()) {
    if (typeof item !== 'string') throw invalid(`static address ${JSON.stringify(item)} is not a string`);
    let ip: string, fam: 4 | 6;
    try {
      ({ ip, family: fam } = splitCidr(item));
    } catch {
      throw invalid(`static address "${item}" is not an IP address`);
    }
    const key = fam === 4 ? 'ip' : 'ip6';
    if (out[key] && out[key] !== ip) throw invalid(`two static IPv${fam} addresses (${out[key]}, ${ip}): tsnet gives an interface one address per family`);
    out[key] = ip;
  }
  return out;
}

/** CNI_ARGS as a map; unknown keys are code 4 unless IgnoreUnknown is set. */
function cniArgs(req: CniRequest): Map<string, string> {
  const args = new Map(req.args);
  const ignore = /^(1|true)$/i.test(args.get('IgnoreUnknown') ?? '');
  const unknown = [...args.keys()].filter((k) => !KNOWN_ARGS.has(k));
  if (unknown.length && !ignore) throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: unknown args [${unknown.join(' ')}] (set IgnoreUnknown=1 to ignore them)`);
  return args;
}

/** Maps runtimeConfig.portMappings to tsnet port requests (one host port each, as portmap). */
function portRequests(rc: RuntimeConfig | undefined): PortRequest[] {
  return (rc?.portMappings ?? []).map((m, i) => {
    if (m.hostIP && !family(m.hostIP)) throw invalid(`runtimeConfig.portMappings[${i}].hostIP "${m.hostIP}" is not an IP address`);
    return { protocol: (m.protocol || 'tcp').toLowerCase() as Protocol, containerPort: m.containerPort, hostIp: m.hostIP ?? '', hostPort: m.hostPort, hostPortEnd: m.hostPort };
  });
}

/**
 * The container's name from CNI_ARGS: K8S_POD_NAME alone (podman sends only that), or
 * NAME.NAMESPACE when K8S_POD_NAMESPACE comes with it (pod names repeat across namespaces).
 * undefined when there is none or it cannot be a sandbox name (the plugin then names it after the id).
 */
export function runtimeName(pod: PodIdentity): string | undefined {
  if (!pod.name) return undefined;
  const name = pod.namespace ? `${pod.name}.${pod.namespace}` : pod.name;
  return isSandboxName(name) ? name : undefined;
}

/** The K8S_POD_* arguments. */
function podIdentity(args: Map<string, string>): PodIdentity | undefined {
  const pod: PodIdentity = { name: args.get('K8S_POD_NAME') || undefined, namespace: args.get('K8S_POD_NAMESPACE') || undefined, uid: args.get('K8S_POD_UID') || undefined, infraContainerId: args.get('K8S_POD_INFRA_CONTAINER_ID') || undefined };
  return Object.values(pod).some(Boolean) ? Object.fromEntries(Object.entries(pod).filter(([, v]) => v)) : undefined;
}

/** The resolver settings of the sandbox: runtimeConfig.dns first, then the config's spec block. */
function sandboxDns(conf: NetConf): AttachmentPlan['dns'] {
  const rc = conf.runtimeConfig?.dns;
  const spec = conf.dns && typeof conf.dns === 'object' ? conf.dns : undefined;
  if (!rc && !spec) return undefined;
  const pick = (a: string[] | undefined, b: string[] | undefined) => (a?.length ? a : b ?? []);
  return { servers: pick(rc?.servers, spec?.nameservers), search: pick(rc?.searches, spec?.search), options: pick(rc?.options, spec?.options) };
}

/** What this attachment asks for, from runtimeConfig, args and CNI_ARGS (checked for conflicts). */
export function attachmentPlan(conf: NetConf, req: CniRequest, networkName: string): AttachmentPlan {
  const args = cniArgs(req);
  const rc = conf.runtimeConfig;
  if (rc?.bandwidth && Object.values(rc.bandwidth).some((v) => v)) {
    throw new CniError(CniCode.UnsupportedField, 'unsupported field: runtimeConfig.bandwidth is not applied by tsnet-cni; chain the reference "bandwidth" plugin after it and declare the capability there');
  }
  const { ip, ip6 } = staticAddresses([rc?.ips ?? [], (conf.args?.cni?.ips as unknown[]) ?? [], (args.get('IP') ?? '').split(',').filter(Boolean)]);
  const macs = [rc?.mac, conf.args?.cni?.mac, args.get('MAC')].filter((m): m is string => typeof m === 'string' && !!m);
  if (new Set(macs.map((m) => m.toLowerCase())).size > 1) throw invalid(`conflicting MAC addresses ${macs.join(', ')}`);
  const mac = macs[0]?.toLowerCase();
  if (mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw invalid(`MAC address "${mac}" is not of the form aa:bb:cc:dd:ee:ff`);
  const aliases = Array.isArray(rc?.aliases) ? rc!.aliases : rc?.aliases?.[networkName] ?? rc?.aliases?.[conf.name] ?? [];
  const pod = podIdentity(args);
  const plan: AttachmentPlan = { ip, ip6, mac, aliases: [...new Set(aliases)], dns: sandboxDns(conf), ports: portRequests(rc) };
  if (pod) Object.assign(plan, { pod, runtimeName: runtimeName(pod) });
  return plan;
}

/** Refuses static addresses outside the subnets the config names (before the network is made for them). */
export function checkStaticAddresses(plan: NetworkPlan, att: AttachmentPlan): void {
  const subnets = (plan.create?.ipam ?? []).map((p) => p.subnet!);
  if (!subnets.length) return;
  for (const ip of [att.ip, att.ip6]) {
    if (ip && !subnets.some((s) => contains(s, ip))) throw invalid(`static address ${ip} is not in the network's subnets (${subnets.join(', ')})`);
  }
}

/** The (containerID, ifname) pairs GC must keep; libcni sends both spellings of the key. A GC without either is refused: it would clear the network. */
export function validAttachments(conf: NetConf): Set<string> {
  if (!conf['cni.dev/valid-attachments'] && !conf['cni.dev/attachments']) throw invalid('GC needs cni.dev/valid-attachments (an empty list to remove everything)');
  const list = [...(conf['cni.dev/valid-attachments'] ?? []), ...(conf['cni.dev/attachments'] ?? [])];
  return new Set(list.map((a) => attachmentKey(a.containerID, a.ifname)));
}

/** One key for an attachment. */
export function attachmentKey(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}
