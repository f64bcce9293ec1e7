/**
 * The network options podman writes on netavark's stdin (netavark 1.4 src/network/types.rs), their
 * schema check (ajv) and the status block setup answers with. Decoding failures are reported as
 * netavark words them: `failed to load network options: IO error: …`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../src/schema/netavark-options.schema.json';
import { NetavarkError } from './errors';

/** One subnet of a podman network. */
export interface PodmanSubnet {
  subnet: string;
  gateway?: string | null;
  lease_range?: { start_ip?: string; end_ip?: string } | null;
}

/** A podman network definition (its NAME.json, as podman passes it in network_info). */
export interface PodmanNetwork {
  name: string;
  id: string;
  driver: string;
  network_interface?: string | null;
  created?: string;
  subnets?: PodmanSubnet[] | null;
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  options?: Record<string, string> | null;
  ipam_options?: Record<string, string> | null;
  network_dns_servers?: string[] | null;
}

/** What one container asks of one network. */
export interface PerNetworkOptions {
  aliases?: string[] | null;
  interface_name: string;
  static_ips?: string[] | null;
  static_mac?: string | null;
}

/** A port forwarding: range ports from host_port to container_port, for each protocol of a comma list. */
export interface PortMapping {
  container_port: number;
  host_ip: string;
  host_port: number;
  protocol: string;
  range: number;
}

/** The whole stdin of setup and teardown. */
export interface NetworkOptions {
  container_id: string;
  container_name: string;
  networks: Record<string, PerNetworkOptions>;
  network_info: Record<string, PodmanNetwork>;
  port_mappings?: PortMapping[] | null;
  dns_servers?: string[] | null;
}

/** One address of a container interface, as setup reports it. */
export interface NetAddress {
  ipnet: string;
  gateway?: string;
}

/** setup's answer for one network (StatusBlock). */
export interface StatusBlock {
  dns_search_domains: string[];
  dns_server_ips: string[];
  interfaces: Record<string, { mac_address: string; subnets: NetAddress[] }>;
}

let compiled: ValidateFunction | undefined;

/** The schema's validator, compiled on first use. */
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  return compiled;
}

/** One ajv error in serde's words where there is one (missing field `x`). */
function describeSchemaError(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'required') return `missing field \`${(e.params as { missingProperty: string }).missingProperty}\` at ${at}`;
  if (e.keyword === 'type') return `invalid type at ${at}: expected ${(e.params as { type: string }).type}`;
  return `${at} ${e.message ?? 'is invalid'}`;
}

/** Wraps a decoding failure in netavark's words. */
export function loadError(why: string): NetavarkError {
  return new NetavarkError(`failed to load network options: IO error: ${why}`);
}

/** Decodes and schema-checks the network options; throws netavark's load error naming every problem. */
export function parseNetworkOptions(text: string): NetworkOptions {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw loadError(text.trim() ? (err as Error).message : 'EOF while parsing a value at line 1 column 0');
  }
  const validate = validator();
  if (!validate(raw)) throw loadError([...new Set((validate.errors ?? []).map(describeSchemaError))].join('; '));
  return raw as NetworkOptions;
}
