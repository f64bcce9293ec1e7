/** Value types of the Container Network Model: networks, endpoints, sandboxes, port bindings. */

/** Where a network's state lives: this host only, or shared between hosts (overlay). */
export type Scope = 'local' | 'global';

/** Transport protocols a port can be published for. */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/** One IPAM pool of a network as the user asked for it (Docker's IPAM.Config entry). */
export interface IpamConfig {
  /** CIDR, v4 or v6, e.g. 172.25.0.0/16 */
  subnet?: string;
  /** Gateway address inside subnet (no prefix length). */
  gateway?: string;
  /** Sub-range of subnet that dynamic allocation draws from. */
  ipRange?: string;
  /** Addresses reserved for other hosts, by name. */
  auxAddresses?: Record<string, string>;
}

/** One IPAM pool of a network as allocated: the subnet is always known. */
export interface IpamPool {
  poolId: string;
  subnet: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

/** What a user asks for when creating a network. */
export interface NetworkSpec {
  name: string;
  driver?: string;
  ipam?: IpamConfig[];
  ipv6?: boolean;
  internal?: boolean;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A network as recorded in the store. */
export interface Network {
  id: string;
  name: string;
  driver: string;
  scope: Scope;
  created: string;
  ipv6: boolean;
  internal: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
  ipam: IpamPool[];
  /** Facts a driver derived at creation (e.g. bridge device name), kept for restore and inspect. */
  driverState: Record<string, string>;
  /** Set while another process is building or tearing the network down: restore leaves it alone. */
  transition?: 'creating' | 'deleting';
}

/** A published port: one host port to one container port (ranges are expanded). */
export interface PortBinding {
  protocol: Protocol;
  containerPort: number;
  /** Host address to listen on; '' means every address of the family. */
  hostIp: string;
  hostPort: number;
}

/** A port request before host ports are chosen: hostPort 0 means pick one. */
export interface PortRequest {
  protocol: Protocol;
  containerPort: number;
  hostIp: string;
  /** First host port, or 0 for a random one from the ephemeral range. */
  hostPort: number;
  /** Last host port of a range (inclusive); equals hostPort for a single port. */
  hostPortEnd: number;
}

/** A sandbox's membership in one network. */
export interface Endpoint {
  id: string;
  name: string;
  networkId: string;
  sandboxId: string;
  /** Interface name inside the sandbox (eth0, eth1, …). */
  ifname: string;
  /** Host side of the veth pair, when the driver makes one. */
  hostVeth?: string;
  mac?: string;
  /** CIDR, e.g. 172.25.0.2/16 */
  ipv4?: string;
  ipv6?: string;
  aliases: string[];
  ports: PortBinding[];
  created: string;
}

/** How a sandbox gets its network stack. */
export type SandboxMode = 'own' | 'host' | 'none' | 'container';

/** DNS settings a sandbox asked for (--dns, --dns-search, --dns-opt). */
export interface DnsSettings {
  servers: string[];
  search: string[];
  options: string[];
}

/** A container's network stack: a network namespace plus its resolver files. */
export interface Sandbox {
  id: string;
  name: string;
  hostname: string;
  mode: SandboxMode;
  /** Path of the network namespace (the CNM sandbox key). */
  key: string;
  /** For container mode: the sandbox whose stack this one shares. */
  sharedWith?: string;
  /** The namespace belongs to someone else (a CNI runtime, an engine): tsnet never creates or deletes it. */
  external?: boolean;
  dns: DnsSettings;
  /** --add-host entries as "name:ip". */
  extraHosts: string[];
  /** --expose'd ports, published by -P. */
  exposed: { protocol: Protocol; port: number }[];
  created: string;
}
