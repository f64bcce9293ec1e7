/** Value types of the Container Network Model: networks, endpoints, sandboxes, port bindings. */

/** Who is doing a record's transition: a pid and the kernel's boot id (a pid means nothing after a reboot). */
export interface TransitionOwner {
  pid: number;
  boot: string;
}

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
  /** IPAM driver (--ipam-driver): only Docker's built-in `default` is available. */
  ipamDriver?: string;
  /** IPAM driver options (--ipam-opt), recorded and shown as IPAM.Options. */
  ipamOptions?: Record<string, string>;
  /** Docker's --attachable: recorded and shown (every tsnet network takes sandboxes). */
  attachable?: boolean;
  /** The scope asked for (--scope): it must be the driver's. */
  scope?: Scope;
  /** A configuration-only network (--config-only): it holds IPAM config and options for others and has no devices. */
  configOnly?: boolean;
  /** Take IPAM config, IPv6 and options from this configuration-only network (--config-from). */
  configFrom?: string;
}

/**
 * What the controller needs to know about one network, decided by its driver from the network's
 * options (validateNetwork) and recorded with it. The controller reads these typed facts and never
 * interprets a driver's option keys.
 */
export interface NetworkInfo {
  /** Host device carrying the network's gateway (the bridge): its own routes are no overlap, the firewall programs it. */
  device?: string;
  /** Firewall policy on `device`; absent: the network gets no rules. */
  firewall?: { masquerade: boolean; icc: boolean };
  /** Whether ports can be published (-p) on this network; false: refused with a clear error. */
  publishes: boolean;
  /** Default host address of published ports (host_binding_ipv4), else the daemon's `ip`. */
  hostBindingIpv4?: string;
  /** Whether the embedded resolver answers names on this network (user-defined networks of DNS-capable drivers). */
  dns: boolean;
  /** Whether endpoints may ask for static addresses (--ip); false on Docker's default bridge. */
  staticAddresses: boolean;
  /** Whether an engine (the Docker plugin) may create endpoints on it. */
  engineEndpoints: boolean;
  /** Interface MTU, when the network sets one. */
  mtu?: number;
  /**
   * Host resources the network uses, for conflicts between networks: two networks conflict when they
   * claim one key with different values, or either claims it 'exclusive'. E.g. a bridge claims
   * `{"dev:br0": "exclusive"}`, a macvlan network `{"parent:eth0": "macvlan"}`.
   */
  claims: Record<string, string>;
  /** Whether the network is Docker's predefined one of its driver (e.g. the default `bridge`). */
  predefined?: boolean;
  /** false: endpoints never take a default route through this network (the overlay: egress goes through `egress`). */
  defaultRoute?: false;
  /** Default routes go straight out of the interface, with no gateway (ipvlan l3/l3s: `default dev eth0`). */
  onLinkDefaultRoute?: boolean;
  /**
   * A local network every endpoint also joins, for the way out and for published ports (the
   * overlay's per-host gateway bridge, Docker's docker_gwbridge); created on first use.
   */
  egress?: NetworkSpec;
  /** Integer ids the network needs, unique in its store (the overlay's VNIs), allocated by the controller into Network.ids. */
  idPool?: { name: string; min: number; max: number; count: number; requested?: number[] };
}

/** A driver's private record of one network, opaque to the controller (JSON). */
export type DriverData = Record<string, string | number | boolean>;

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
  /** What the driver decided about the network (firewall device, publishing, DNS, claims), typed. */
  info: NetworkInfo;
  /** The driver's private record of what it made (e.g. whether it created its bridge); opaque to the controller. */
  driverData: DriverData;
  /** Untyped facts written by releases before 0.2 (`{bridge}`); read once by the driver's upgrade, never written. */
  driverState?: Record<string, string>;
  /** Ids allocated from info.idPool (the overlay's VNIs, one per subnet). */
  ids?: number[];
  /** IPAM driver options it was created with (--ipam-opt). */
  ipamOptions?: Record<string, string>;
  /** Created --attachable. */
  attachable?: boolean;
  /** A configuration-only network: ipamConfig holds its pools as asked for (nothing is allocated), driver is "null". */
  configOnly?: boolean;
  /** For configOnly: the IPAM config as given, handed to networks created --config-from it. */
  ipamConfig?: IpamConfig[];
  /** Name of the configuration-only network this one took its configuration from. */
  configFrom?: string;
  /** Set while another process is building or tearing the network down: restore leaves it alone. */
  transition?: 'creating' | 'deleting';
  /** The process doing the transition (its pid and the kernel's boot id), so a crashed one's leftovers can be reaped. */
  transitionOwner?: TransitionOwner;
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
  /** Where the endpoint lives, for networks shared by a cluster: its host's name and tunnel endpoint address. */
  location?: { host: string; vtep: string };
  /** This endpoint gives the sandbox its IPv4 default route (decided per family at connect, handed on at leave). */
  defaultRoute?: boolean;
  /** This endpoint gives the sandbox its IPv6 default route. */
  defaultRoute6?: boolean;
  /** Extra addresses asked for with --link-local-ip. */
  linkLocalIps?: string[];
  /** Endpoint options asked for with --driver-opt. */
  driverOpts?: Record<string, string>;
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
  /** The --network the sandbox was created with, as the user named it (inspect's NetworkMode). */
  networkMode?: string;
  dns: DnsSettings;
  /** --add-host entries as "name:ip". */
  extraHosts: string[];
  /** --expose'd ports, published by -P. */
  exposed: { protocol: Protocol; port: number }[];
  created: string;
  /** --domainname: the hosts file's own lines start with hostname.domainname. */
  domainname?: string;
  /** --sysctl values written in the sandbox's namespace (net.* only). */
  sysctls?: Record<string, string>;
  /** Docker's legacy --link: the linked sandbox (by id) under an alias, written to the hosts file. */
  links?: { id: string; name: string; alias: string }[];
}
