/**
 * The IPAM contract (libnetwork ipamapi, host-local's allocator): pools per network, addresses per
 * endpoint. Every call runs inside the caller's store transaction (the asynchronous Store contract,
 * on SQLite or etcd), so a network's pool and its record commit or roll back together, and
 * concurrent processes or hosts never hand out one address twice: reservations are create-if-absent
 * keys, and a transaction that raced another is retried by the store.
 */
import type { IpamPool } from '../model';
import type { Lease, StoreTxn } from '../store/store';

/** What a network asks for: a user subnet, or a default pool of one family. */
export interface PoolRequest {
  /** Network id: owns the pool. */
  owner: string;
  /** Network name, used in error messages. */
  ownerName: string;
  /** Family to pick when no subnet is given (ignored when subnet is given). */
  v6: boolean;
  /** User subnet, v4 or v6; must be canonical (host bits set are refused, as Docker does). */
  subnet?: string;
  /** Sub-range of subnet that dynamic allocation draws from; requires subnet. */
  ipRange?: string;
  /** Gateway inside subnet, not its network or broadcast address; default: first usable address. Requires subnet. */
  gateway?: string;
  /** Named addresses inside subnet that are reserved and never handed out. Requires subnet. */
  auxAddresses?: Record<string, string>;
  /** The default pool to try first (e.g. 172.17.0.0/16 for the default bridge's "bip"). */
  defaultPool?: string;
  /** A global-scope network: default pools come from the cluster's list (10.0.0.0/8 in /24s). */
  global?: boolean;
  /** The driver needs no gateway: none is chosen or reserved, and gateway must not be given. */
  noGateway?: boolean;
}

/** What an endpoint asks for in one pool. */
export interface AddressRequest {
  /** Endpoint id: owns the address (CNI container id). */
  owner: string;
  /** Interface name, kept so releaseOwner can free one interface of an owner. */
  ifname: string;
  /** Static IP without prefix; must lie in the subnet (not necessarily in ipRange, as Docker). */
  preferred?: string;
  /** Bind the reservation to this lease (a cluster host's): it is freed when the host's lease expires. */
  lease?: Lease;
}

/** A pool as listed: the pool plus the network that owns it. */
export interface PoolRecord {
  pool: IpamPool;
  /** Network id. */
  owner: string;
  /** Network name. */
  ownerName: string;
}

/** Address management for every network of the host, kept in the store. */
export interface Ipam {
  /**
   * Picks (default pools) or validates (user subnet) a subnet, refuses overlaps with every other
   * pool in the store and with hostRoutes (routes on the host; default routes are ignored), then
   * reserves the gateway and aux addresses. Throws InvalidArgument, Conflict or Exhausted.
   */
  requestPool(t: StoreTxn, req: PoolRequest, hostRoutes: string[]): Promise<IpamPool>;
  /** Frees the pool and every address in it; an unknown pool id is a no-op. */
  releasePool(t: StoreTxn, poolId: string): Promise<void>;
  /**
   * Reserves an address: the preferred one, or the next free one after the last reserved (wrapping).
   * Returns it as CIDR with the subnet's prefix, e.g. "172.25.0.2/16". Throws NotFound for an
   * unknown pool, InvalidArgument, Conflict (preferred taken) or Exhausted.
   */
  requestAddress(t: StoreTxn, poolId: string, req: AddressRequest): Promise<string>;
  /** Frees one endpoint address ("ip" or "ip/len"); idempotent. Gateway and aux stay reserved until releasePool. */
  releaseAddress(t: StoreTxn, poolId: string, ip: string): Promise<void>;
  /** Frees every address of owner in every pool, or only those of ifname (CNI's ReleaseByID); returns how many. */
  releaseOwner(t: StoreTxn, owner: string, ifname?: string): Promise<number>;
  /** Every pool with the network that owns it, ordered by pool id. */
  pools(t: StoreTxn): Promise<PoolRecord[]>;
}
