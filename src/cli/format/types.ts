/**
 * The Go types Docker's CLI decodes its inspect JSON into (docker 20.10's types.NetworkResource and
 * the part of types.ContainerJSON a sandbox has), so a template sees Go field names and prints
 * structs as Docker does; and the conversion of a JSON document into those typed values.
 */
import { GoMap, GoStruct, GoTime, nilSlice, typedSlice, type GoValue } from './values';

/** A Go type, described as data. */
export type GoType = 'string' | 'bool' | 'int' | 'time' | 'any' | StructType | { map: GoType } | { slice: GoType };

/** A struct type: its name, whether it is reached through a pointer, and its fields in order. */
export interface StructType {
  struct: string;
  pointer?: boolean;
  fields: { name: string; json?: string; type: GoType; omitempty?: boolean }[];
}

const s = (name: string, fields: StructType['fields'], pointer = false): StructType => ({ struct: name, fields, pointer });
const f = (name: string, type: GoType, json?: string, omitempty?: boolean) => ({ name, type, json, omitempty });
const strings = (...names: string[]) => names.map((n) => f(n, 'string'));

const ipamConfig = s('network.IPAMConfig', [f('Subnet', 'string', undefined, true), f('IPRange', 'string', undefined, true), f('Gateway', 'string', undefined, true), f('AuxAddress', { map: 'string' }, 'AuxiliaryAddresses', true)]);
const endpointResource = s('types.EndpointResource', strings('Name', 'EndpointID', 'MacAddress', 'IPv4Address', 'IPv6Address'));

/** docker network inspect's types.NetworkResource (docker 20.10). */
export const NETWORK_RESOURCE: StructType = s('types.NetworkResource', [
  f('Name', 'string'), f('ID', 'string', 'Id'), f('Created', 'time'), f('Scope', 'string'), f('Driver', 'string'), f('EnableIPv6', 'bool'),
  f('IPAM', s('network.IPAM', [f('Driver', 'string'), f('Options', { map: 'string' }), f('Config', { slice: ipamConfig })])),
  f('Internal', 'bool'), f('Attachable', 'bool'), f('Ingress', 'bool'), f('ConfigFrom', s('network.ConfigReference', [f('Network', 'string')])), f('ConfigOnly', 'bool'),
  f('Containers', { map: endpointResource }), f('Options', { map: 'string' }), f('Labels', { map: 'string' }),
  f('Peers', { slice: s('network.PeerInfo', strings('Name', 'IP')) }, undefined, true), f('Services', { map: 'any' }, undefined, true),
]);

const endpointSettings = s('network.EndpointSettings', [
  f('Aliases', { slice: 'string' }), ...strings('NetworkID', 'EndpointID', 'Gateway', 'IPAddress'), f('IPPrefixLen', 'int'),
  ...strings('IPv6Gateway', 'GlobalIPv6Address'), f('GlobalIPv6PrefixLen', 'int'), f('MacAddress', 'string'),
  // tsnet's own: the interface's name inside the sandbox.
  f('InterfaceName', 'string'),
], true);

/** docker inspect's types.ContainerJSON, limited to what a sandbox has (fields in Docker's order). */
export const SANDBOX_JSON: StructType = s('types.ContainerJSON', [
  f('ID', 'string', 'Id'), f('Created', 'string'), f('Name', 'string'),
  f('HostConfig', s('container.HostConfig', [f('NetworkMode', 'string'), f('DNS', { slice: 'string' }, 'Dns'), f('DNSOptions', { slice: 'string' }, 'DnsOptions'), f('DNSSearch', { slice: 'string' }, 'DnsSearch'), f('ExtraHosts', { slice: 'string' })], true)),
  f('Config', s('container.Config', [f('Hostname', 'string'), f('ExposedPorts', { map: s('struct {}', []) })], true)),
  f('NetworkSettings', s('types.NetworkSettings', [
    ...strings('SandboxID', 'SandboxKey'), f('Ports', { map: { slice: s('nat.PortBinding', [f('HostIP', 'string', 'HostIp'), f('HostPort', 'string')]) } }),
    f('Networks', { map: endpointSettings }),
  ], true)),
]);

/** A decoded JSON document as Go's untyped interface{} values (objects are maps). */
export function untyped(v: unknown): GoValue {
  if (Array.isArray(v)) return v.map(untyped);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, untyped(x)]));
  return v === undefined ? null : (v as GoValue);
}

/** Decodes a JSON value into type t as encoding/json would (missing fields are zero values). */
export function typed(t: GoType, v: unknown): GoValue {
  if (t === 'string') return typeof v === 'string' ? v : '';
  if (t === 'bool') return v === true;
  if (t === 'int') return typeof v === 'number' ? v : 0;
  if (t === 'time') return new GoTime(typeof v === 'string' ? v : '0001-01-01T00:00:00Z');
  if (t === 'any') return untyped(v);
  if ('slice' in t) return Array.isArray(v) ? typedSlice(v.map((x) => typed(t.slice, x)), goTypeName(t)) : nilSlice(goTypeName(t));
  if ('map' in t) {
    const zero = () => typed(t.map, undefined);
    if (!v || typeof v !== 'object') return new GoMap({}, zero, { type: goTypeName(t), isNil: true });
    return new GoMap(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typed(t.map, x)])), zero, { type: goTypeName(t) });
  }
  const obj = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  return new GoStruct(t.struct, t.fields.map((x) => ({ name: x.name, json: x.json ?? x.name, omitempty: x.omitempty, value: typed(x.type, obj[x.json ?? x.name]) })), { pointer: t.pointer });
}

/** Go's name of type t ("map[string]string", "[]network.IPAMConfig"). */
export function goTypeName(t: GoType): string {
  if (typeof t === 'string') return t === 'any' ? 'interface {}' : t === 'time' ? 'time.Time' : t;
  if ('slice' in t) return `[]${goTypeName(t.slice)}`;
  if ('map' in t) return `map[string]${goTypeName(t.map)}`;
  return (t.pointer ? '*' : '') + t.struct;
}
