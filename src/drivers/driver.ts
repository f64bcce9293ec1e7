/** The NetworkDriver contract: what every driver (bridge, host, none, macvlan, ipvlan, overlay) implements. */
import type { DaemonConfig } from '../config';
import type { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, Scope } from '../model';

/** What a driver can do; optional features are flags, never stub methods. */
export interface DriverCapabilities {
  /** local: state on this host (SQLite); global: shared by the cluster (etcd). */
  scope: Scope;
  /** Whether endpoints get addresses from IPAM. */
  needsIpam: boolean;
  /** Whether the embedded resolver may serve this driver's networks (NetworkInfo.dns decides per network). */
  dns: boolean;
  /** own: the sandbox gets its own stack; host: the host's; none: loopback only; shared: another sandbox's. */
  sandboxMode: 'own' | 'host' | 'none' | 'shared';
}

/**
 * What the controller needs to know about one network, decided by its driver from the network's
 * options (validateNetwork) and recorded with it. The controller reads these typed facts and never
 * interprets a driver's option keys.
 */
export interface NetworkInfo {
  /** Host device the firewall programs for this network (the bridge); absent: the network gets no rules. */
  firewall?: { device: string; masquerade: boolean; icc: boolean };
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
}

/** Whether two networks' claims conflict; returns the conflicting key. */
export function conflictingClaim(a: Record<string, string>, b: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(a)) {
    const other = b[key];
    if (other !== undefined && (other !== value || value === 'exclusive')) return key;
  }
  return undefined;
}

/** The sandbox side of a join: its namespace and a netlink handle bound to it. */
export interface SandboxHandle {
  /** Network namespace path (the CNM sandbox key). */
  key: string;
  /** rtnetlink inside the sandbox. */
  netlink: NetlinkHandle;
  /** Namespace fd, for creating an interface straight inside. */
  nsFd: number;
}

/** What createEndpoint made: returned as data, the controller records it. */
export interface EndpointInterface {
  hostVeth?: string;
  mac?: string;
}

/** What the controller decides for a join. */
export interface JoinOptions {
  /** Whether this network provides the sandbox's IPv4 default route. */
  defaultRoute: boolean;
  /** Whether this network provides the sandbox's IPv6 default route. */
  defaultRoute6: boolean;
  /** Extra routes inside the sandbox (CNI `routes`), each via the network's gateway unless given. */
  routes?: { dst: string; gateway?: string }[];
}

/** What join configured in the sandbox. */
export interface JoinInfo {
  ifname: string;
  gateway?: string;
  gateway6?: string;
}

/** Host-side context a driver is built with. */
export interface DriverContext {
  /** rtnetlink in the host namespace. */
  host: NetlinkHandle;
  /** The daemon configuration (default bridge settings such as bip, mtu, default-gateway). */
  config: DaemonConfig;
}

/** A network driver (libnetwork's driverapi, narrowed to the CNM verbs). */
export interface NetworkDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /**
   * Pure check of a network about to be created (or of a recorded one being opened); returns the
   * typed facts the controller needs. Throws InvalidArgument naming a bad or unknown option.
   */
  validateNetwork(net: Network): NetworkInfo;
  /**
   * Makes the network's kernel objects (bridge, parent, addresses); returns the driver's private
   * record of what it made (e.g. whether it created the bridge or adopted one), kept with the network.
   */
  createNetwork(net: Network): Promise<DriverData>;
  /** Removes what createNetwork made (never what it adopted); missing objects count as removed. */
  deleteNetwork(net: Network): Promise<void>;
  /** Makes the endpoint's interface (veth pair, macvlan child) with its sandbox end inside the sandbox. */
  createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface>;
  /** Configures the interface inside the sandbox: addresses, up, routes. */
  join(net: Network, ep: Endpoint, sandbox: SandboxHandle, opts: JoinOptions): Promise<JoinInfo>;
  /** Undoes join inside the sandbox (a gone sandbox counts as done). */
  leave(net: Network, ep: Endpoint, sandbox: SandboxHandle | undefined): Promise<void>;
  /** Removes the endpoint's host-side objects; missing ones count as removed. */
  deleteEndpoint(net: Network, ep: Endpoint): Promise<void>;
  /** Re-creates kernel objects lost since the store recorded them (after a reboot); true when it had to. */
  restore?(net: Network): Promise<boolean>;
  /** Hairpin on the endpoint's host port, so a sandbox reaches its own published ports through the host. */
  setHairpin?(net: Network, ep: Endpoint, on: boolean): Promise<void>;
}

/** A driver's private record of one network, opaque to the controller (JSON). */
export type DriverData = Record<string, string | number | boolean>;
