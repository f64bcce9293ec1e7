/**
 * Request bodies of Docker's remote network and IPAM driver protocols, as their JSON Schemas
 * (src/schema/docker-*.json) admit them. Go marshals nil maps and slices as null.
 */

/** One IPAM pool of a network, as the network driver receives it (CIDR strings). */
export interface IpamData {
  AddressSpace?: string;
  Pool: string;
  /** Gateway with the pool's prefix length, e.g. 172.30.0.1/16. */
  Gateway?: string;
  /** Aux addresses with prefix length, by name. */
  AuxAddresses?: Record<string, string> | null;
}

/** Options Docker passes with CreateNetwork. */
export interface NetworkOptions {
  /** The user's `-o` options. */
  'com.docker.network.generic'?: Record<string, string> | null;
  'com.docker.network.enable_ipv6'?: boolean;
  'com.docker.network.internal'?: boolean;
  [key: string]: unknown;
}

/** /NetworkDriver.CreateNetwork */
export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: NetworkOptions | null;
  IPv4Data?: IpamData[] | null;
  IPv6Data?: IpamData[] | null;
}

/** /NetworkDriver.DeleteNetwork */
export interface NetworkRequest {
  NetworkID: string;
}

/** DeleteEndpoint, EndpointOperInfo, Leave, RevokeExternalConnectivity. */
export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}

/** /NetworkDriver.CreateEndpoint: Interface holds what Docker's IPAM already decided. */
export interface CreateEndpointRequest extends EndpointRequest {
  Options?: Record<string, unknown> | null;
  Interface?: { Address?: string; AddressIPv6?: string; MacAddress?: string } | null;
}

/** /NetworkDriver.Join */
export interface JoinRequest extends EndpointRequest {
  SandboxKey: string;
  Options?: Record<string, unknown> | null;
}

/** libnetwork's types.PortBinding as JSON: Proto is the IP protocol number, addresses are strings. */
export interface DockerPortBinding {
  Proto: number;
  IP?: string;
  Port: number;
  HostIP?: string;
  HostPort?: number;
  HostPortEnd?: number;
}

/** /NetworkDriver.ProgramExternalConnectivity: the sandbox's labels, with its port mappings. */
export interface ProgramExternalConnectivityRequest extends EndpointRequest {
  Options?: { 'com.docker.network.portmap'?: DockerPortBinding[] | null; [key: string]: unknown } | null;
}

/** /IpamDriver.RequestPool */
export interface RequestPoolRequest {
  AddressSpace: string;
  Pool?: string;
  SubPool?: string;
  Options?: Record<string, string> | null;
  V6?: boolean;
}

/** /IpamDriver.ReleasePool */
export interface ReleasePoolRequest {
  PoolID: string;
}

/** /IpamDriver.RequestAddress */
export interface RequestAddressRequest {
  PoolID: string;
  Address?: string;
  Options?: Record<string, string> | null;
}

/** /IpamDriver.ReleaseAddress */
export interface ReleaseAddressRequest {
  PoolID: string;
  Address: string;
}
