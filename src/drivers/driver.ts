/** The NetworkDriver contract: what every driver (bridge, host, none, container, overlay) implements. */
import type { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, Scope } from '../model';

/** What a driver can do; optional features are flags, never stub methods. */
export interface DriverCapabilities {
  /** local: state on this host; global: shared through etcd. */
  scope: Scope;
  /** Whether endpoints get addresses from IPAM. */
  needsIpam: boolean;
  /** Whether the embedded resolver serves this driver's user-defined networks. */
  dns: boolean;
  /** own: the sandbox gets its own stack; host: the host's; none: loopback only; shared: another sandbox's. */
  sandboxMode: 'own' | 'host' | 'none' | 'shared';
}

/** The sandbox side of a join: its namespace and a netlink handle bound to it. */
export interface SandboxHandle {
  /** Network namespace path (the CNM sandbox key). */
  key: string;
  /** rtnetlink inside the sandbox. */
  netlink: NetlinkHandle;
  /** Namespace fd, for creating a veth peer straight inside. */
  nsFd: number;
}

/** What createEndpoint made: returned as data, the controller records it. */
export interface EndpointInterface {
  hostVeth?: string;
  mac?: string;
}

/** What the controller decides for a join. */
export interface JoinOptions {
  /** Whether this network provides the sandbox's default route. */
  defaultRoute: boolean;
  /** IPv4 default gateway instead of the network's (daemon config default-gateway, default bridge only). */
  gatewayOverride?: string;
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
}

/** A network driver (libnetwork's driverapi, narrowed to the CNM verbs). */
export interface NetworkDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Pure check of a network about to be created; returns the facts the driver derives (device names). Throws InvalidArgument. */
  validateNetwork(net: Network): Record<string, string>;
  /** Makes the network's kernel objects (bridge, addresses). */
  createNetwork(net: Network): Promise<void>;
  /** Removes them; missing objects count as removed. */
  deleteNetwork(net: Network): Promise<void>;
  /** Makes the endpoint's interface (veth pair, peer inside the sandbox). */
  createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface>;
  /** Configures the interface inside the sandbox: addresses, up, routes. */
  join(net: Network, ep: Endpoint, sandbox: SandboxHandle, opts: JoinOptions): Promise<JoinInfo>;
  /** Undoes join inside the sandbox (a gone sandbox counts as done). */
  leave(net: Network, ep: Endpoint, sandbox: SandboxHandle | undefined): Promise<void>;
  /** Removes the endpoint's host-side objects; missing ones count as removed. */
  deleteEndpoint(net: Network, ep: Endpoint): Promise<void>;
  /** Re-creates kernel objects lost since the store recorded them (after a reboot); true when it had to. */
  restore?(net: Network): Promise<boolean>;
}
