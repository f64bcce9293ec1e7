/** The NetworkDriver contract: what every driver (bridge, host, none, macvlan, ipvlan, overlay) implements. */
import type { DaemonConfig } from '../config';
import type { NetlinkHandle } from '../kernel/netlink';
import type { DriverData, Endpoint, Network, NetworkInfo, Scope } from '../model';

export type { DriverData, NetworkInfo } from '../model';

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

/** What a driver's agent reads: the cluster's networks and endpoints, and their changes. */
export interface PeerSource {
  /** This host's name in the cluster (endpoints located here are local). */
  readonly self: string;
  /** The cluster store's networks and endpoints, read now. */
  snapshot(): Promise<{ networks: Network[]; endpoints: Endpoint[] }>;
  /** Calls onChange after any change; returns a stop function. */
  watch(onChange: () => void): () => Promise<void>;
  /** Records, bound to this host's lease, the ids of pool (overlay VNIs) this host still has devices on: none is handed to a new network meanwhile. */
  publishDevices(pool: string, ids: number[]): Promise<void>;
}

/** A running driver agent. */
export interface DriverAgent {
  /** Resolves after a full pass over the current view. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Host-side context a driver is built with. */
export interface DriverContext {
  /** rtnetlink in the host namespace. */
  host: NetlinkHandle;
  /** The daemon configuration (default bridge settings such as bip, mtu, default-gateway). */
  config: DaemonConfig;
  /** This host in its cluster (name, tunnel address), when a cluster store is configured. */
  cluster?: { host: string; advertise: string };
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
  /** Re-creates kernel objects lost since the store recorded them (after a reboot); returns the new driver data when it had to. */
  restore?(net: Network): Promise<DriverData | undefined>;
  /** Whether the network's kernel objects are there and up (a cheap check before taking a lock to restore). */
  isLive?(net: Network): Promise<boolean>;
  /** Rewrites short option names to the driver's canonical keys, before validation and recording. */
  normalizeOptions?(options: Record<string, string>): Record<string, string>;
  /** Typed facts for a record written by a release before typed results (it has only `driverState`). */
  upgrade?(legacy: Network): { info: NetworkInfo; driverData: DriverData };
  /**
   * Starts the driver's resident agent (the overlay's FDB programmer) over the cluster's view; the
   * daemon runs it on hosts in a cluster.
   */
  startAgent?(source: PeerSource): DriverAgent;
  /** Hairpin on the endpoint's host port, so a sandbox reaches its own published ports through the host. */
  setHairpin?(net: Network, ep: Endpoint, on: boolean): Promise<void>;
}
