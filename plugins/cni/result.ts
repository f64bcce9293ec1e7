/**
 * The CNI Result: one internal shape (spec 1.1.0) and its conversion to and from every supported
 * version. 1.0.0 drops 1.1's interface and route attributes; 0.3.x/0.4.0 add ips[].version.
 */
import { isIP } from 'node:net';
import { CniCode, CniError } from './codes';
import { compareVersions, type CniVersion } from './version';

/** An interface the plugin made or touched; sandbox is set for the container side only. */
export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 only. */
  mtu?: number;
  /** Namespace path (CNI_NETNS) for container interfaces; absent for host interfaces. */
  sandbox?: string;
  /** 1.1.0 only. */
  socketPath?: string;
  /** 1.1.0 only. */
  pciID?: string;
}

/** An address of an interface (by index into interfaces). */
export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}

/** A route the plugin set up in the container. */
export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0 only (this and the four below). */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** DNS information for the runtime (it writes resolv.conf from it, if it wants). */
export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in the internal (1.1.0) shape, before it is written in the config's version. */
export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: CniDns;
}

const V11_INTERFACE_KEYS = ['mtu', 'socketPath', 'pciID'] as const;
const V11_ROUTE_KEYS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/** Drops undefined values, so the JSON carries only what is known (optional fields stay absent). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Writes r as the spec shapes a result of version v. */
export function encodeResult(r: CniResult, v: CniVersion): Record<string, unknown> {
  const v11 = compareVersions(v, '1.1.0') >= 0;
  const v1 = compareVersions(v, '1.0.0') >= 0;
  const strip = <T extends object>(o: T, keys: readonly string[]): T => (v11 ? defined(o) : defined(Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T));
  const ips = r.ips.map((ip) => defined(v1 ? { ...ip } : { version: isIP(ip.address.split('/')[0]) === 6 ? '6' : '4', ...ip }));
  return {
    cniVersion: v,
    interfaces: r.interfaces.map((i) => strip(i, V11_INTERFACE_KEYS)),
    ips,
    routes: r.routes.map((rt) => strip(rt, V11_ROUTE_KEYS)),
    dns: defined({ ...r.dns }),
  };
}

/** Throws code 7 naming the prevResult field that is malformed. */
function bad(what: string): never {
  throw new CniError(CniCode.InvalidNetworkConfig, `invalid prevResult: ${what}`);
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const strList = (x: unknown, what: string): string[] | undefined => {
  if (x === undefined || x === null) return undefined;
  if (!Array.isArray(x) || !x.every(isStr)) bad(`${what} must be a list of strings`);
  return x as string[];
};

/** Checks "ip/len" loosely: a valid IP and a numeric prefix in range. */
function isCidr(s: unknown): s is string {
  if (!isStr(s)) return false;
  const [ip, len, extra] = s.split('/');
  const fam = isIP(ip);
  return !!fam && extra === undefined && /^\d{1,3}$/.test(len ?? '') && Number(len) <= (fam === 4 ? 32 : 128);
}

function decodeInterface(x: unknown, i: number): CniInterface {
  const o = x as Record<string, unknown>;
  if (!o || typeof o !== 'object' || !isStr(o.name) || !o.name) bad(`interfaces[${i}] needs a name`);
  const out: CniInterface = { name: o.name as string };
  for (const k of ['mac', 'sandbox', 'socketPath', 'pciID'] as const) {
    if (o[k] === undefined || o[k] === '') continue;
    if (!isStr(o[k])) bad(`interfaces[${i}].${k} must be a string`);
    out[k] = o[k] as string;
  }
  if (typeof o.mtu === 'number') out.mtu = o.mtu;
  return out;
}

function decodeIp(x: unknown, i: number, nIfaces: number): CniIp {
  const o = x as Record<string, unknown>;
  if (!o || typeof o !== 'object' || !isCidr(o.address)) bad(`ips[${i}].address must be an address with prefix length`);
  const out: CniIp = { address: o.address as string };
  if (o.gateway !== undefined && o.gateway !== '') {
    if (!isStr(o.gateway) || !isIP(o.gateway)) bad(`ips[${i}].gateway must be an IP address`);
    out.gateway = o.gateway as string;
  }
  if (o.interface !== undefined && o.interface !== null) {
    if (!Number.isInteger(o.interface) || (o.interface as number) < 0 || (o.interface as number) >= nIfaces) bad(`ips[${i}].interface must index interfaces`);
    out.interface = o.interface as number;
  }
  return out;
}

function decodeRoute(x: unknown, i: number): CniRoute {
  const o = x as Record<string, unknown>;
  if (!o || typeof o !== 'object' || !isCidr(o.dst)) bad(`routes[${i}].dst must be a CIDR`);
  const out: CniRoute = { dst: o.dst as string };
  if (o.gw !== undefined && o.gw !== '') {
    if (!isStr(o.gw) || !isIP(o.gw)) bad(`routes[${i}].gw must be an IP address`);
    out.gw = o.gw as string;
  }
  for (const k of V11_ROUTE_KEYS) if (typeof o[k] === 'number') out[k] = o[k] as number;
  return out;
}

/** Reads a prevResult of any supported version into the internal shape; ips[].version is implied by the address. */
export function decodeResult(raw: unknown): CniResult {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad('must be an object');
  const o = raw as Record<string, unknown>;
  if ('ip4' in o || 'ip6' in o) bad('0.1/0.2 results (ip4/ip6) are not supported');
  for (const k of ['interfaces', 'ips', 'routes'] as const) if (o[k] !== undefined && o[k] !== null && !Array.isArray(o[k])) bad(`${k} must be a list`);
  const interfaces = ((o.interfaces as unknown[]) ?? []).map(decodeInterface);
  const ips = ((o.ips as unknown[]) ?? []).map((x, i) => decodeIp(x, i, interfaces.length));
  const routes = ((o.routes as unknown[]) ?? []).map(decodeRoute);
  const d = (o.dns ?? {}) as Record<string, unknown>;
  if (typeof d !== 'object' || Array.isArray(d)) bad('dns must be an object');
  if (d.domain !== undefined && !isStr(d.domain)) bad('dns.domain must be a string');
  const dns = defined({ nameservers: strList(d.nameservers, 'dns.nameservers'), domain: d.domain as string | undefined, search: strList(d.search, 'dns.search'), options: strList(d.options, 'dns.options') });
  return { interfaces, ips, routes, dns };
}

/** Appends what this plugin made to a previous plugin's result, re-basing interface indices (chaining as a later plugin). */
export function appendResult(prev: CniResult, mine: CniResult): CniResult {
  const base = prev.interfaces.length;
  const hasDns = (d: CniDns) => Object.values(d).some((v) => (Array.isArray(v) ? v.length > 0 : !!v));
  return {
    interfaces: [...prev.interfaces, ...mine.interfaces],
    ips: [...prev.ips, ...mine.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + base }))],
    routes: [...prev.routes, ...mine.routes.filter((r) => !prev.routes.some((p) => p.dst === r.dst && p.gw === r.gw))],
    // The earlier plugin's DNS stands unless it had none: the first plugin of a chain owns it.
    dns: hasDns(prev.dns) ? prev.dns : mine.dns,
  };
}
