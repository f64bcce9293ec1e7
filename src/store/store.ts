/**
 * The store contract: the single source of truth, asynchronous, with two backends behind it — SQLite
 * (embedded, this host's local-scope state) and etcd (the cluster's global-scope state). Both are
 * tested by one contract suite (test/unit/store/contract.ts).
 *
 * Transactions are software transactional memory over revisions, as etcd's STM: a transaction
 * reads at one snapshot revision, buffers its writes, and commits only if nothing it read changed
 * since; on a conflict the whole function runs again. So `fn` must do nothing but read and write
 * through `t` (no kernel work, no other I/O): it may run more than once.
 */

/** A key as listed, with the revision of its last change. */
export interface KeyValue<T> {
  key: string;
  value: T;
  /** Store revision of the key's last modification. */
  modRevision: number;
}

/** Reads of the store (outside or inside a transaction). */
export interface StoreReader {
  /** The value at key, or undefined. */
  get<T>(key: string): Promise<T | undefined>;
  /** Every key starting with prefix, in key order. */
  list<T>(prefix: string): Promise<KeyValue<T>[]>;
}

/** Options of a write. */
export interface PutOptions {
  /** Bind the key to this lease: it vanishes when the lease expires or is revoked. */
  lease?: Lease;
}

/** Reads and writes inside one transaction; every read sees the writes made before it in the same transaction. */
export interface StoreTxn extends StoreReader {
  /** Buffers a write, committed with the transaction. */
  put<T>(key: string, value: T, opts?: PutOptions): void;
  /** Buffers the write only when key is absent (in this snapshot); returns false when it was taken. */
  create<T>(key: string, value: T, opts?: PutOptions): Promise<boolean>;
  /** Buffers a delete; returns false when the key was absent. */
  delete(key: string): Promise<boolean>;
}

/** A change seen by a watcher: value undefined means the key was deleted. */
export interface StoreEvent {
  key: string;
  value: unknown;
  /** Revision of the change. */
  modRevision: number;
}

/** What watch delivers besides events. */
export interface WatchHandlers {
  /** Changes in revision order; `revision` is the highest revision the watcher has now seen. */
  onEvents(events: StoreEvent[], revision: number): void;
  /**
   * The watch ended and will not resume: CompactedError when fromRevision is older than the store
   * keeps history for (re-list and watch again from the listed revision), or the backend's failure.
   */
  onError?(err: Error): void;
}

/** A running watch. */
export interface Watch {
  /** Stops delivering events. */
  close(): Promise<void>;
}

/** A lease: keys bound to it vanish when its owner stops renewing it (etcd's lease, a host's liveness). */
export interface Lease {
  /** The backend's lease id, as a decimal string (kept in the state dir to re-attach after a restart). */
  readonly id: string;
  /** Seconds between the last renewal and expiry. */
  readonly ttl: number;
  /** Renews the lease once; rejects with NotFoundError when it already expired. */
  keepAliveOnce(): Promise<void>;
  /** Revokes the lease now: every key bound to it is deleted. Idempotent. */
  revoke(): Promise<void>;
}

/** Options of a transaction. */
export interface TxnOptions {
  /** Attempts before a persistent conflict is reported as ConflictError (default 64). */
  attempts?: number;
}

/** The store (DESIGN.md): get, list(prefix), txn(fn), watch(prefix), plus leases. */
export interface Store extends StoreReader {
  /** Which backend and where, for error messages: "sqlite:/var/lib/tsnet/state.db", "etcd://10.0.0.1:2379". */
  readonly endpoint: string;
  /** Lists prefix together with the revision the listing is consistent at (watch from it to miss nothing). */
  listAt<T>(prefix: string): Promise<{ items: KeyValue<T>[]; revision: number }>;
  /** Runs fn as one serializable transaction, retried on conflict; rolls back (writes nothing) when fn throws. */
  txn<R>(fn: (t: StoreTxn) => Promise<R>, opts?: TxnOptions): Promise<R>;
  /**
   * Delivers every change under prefix after fromRevision (default: the current revision), made by
   * this or any other process or host, in revision order, none missed.
   */
  watch(prefix: string, handlers: WatchHandlers, fromRevision?: number): Watch;
  /** Grants a lease of ttl seconds (not renewed by the store: the owner calls keepAliveOnce). */
  grantLease(ttl: number): Promise<Lease>;
  /** Re-attaches to a lease granted earlier (by a process that restarted); NotFoundError when it expired. */
  attachLease(id: string): Promise<Lease>;
  /** Releases connections and timers; pending operations reject. */
  close(): Promise<void>;
}

/** A watch asked for history the store no longer keeps: re-list, then watch from the listed revision. */
export class CompactedError extends Error {
  constructor(readonly requested: number, readonly compacted: number) {
    super(`watch from revision ${requested}: history before revision ${compacted} was compacted`);
    this.name = 'CompactedError';
  }
}

/** Smallest string greater than every string starting with prefix (the end of a prefix range). */
export function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}

/** Key layout, in one place. */
export const keys = {
  network: (id: string) => `network/${id}`,
  networkName: (name: string) => `network-name/${name}`,
  /** Endpoints live under their network, so a network's endpoints are one prefix scan. */
  endpoint: (networkId: string, id: string) => `endpoint/${networkId}/${id}`,
  /** Index sandbox → its endpoints (value: network id). */
  sandboxEndpoint: (sandboxId: string, endpointId: string) => `sandbox-ep/${sandboxId}/${endpointId}`,
  /** Marks an endpoint a process is connecting or removing (value: that process), cleared by its last step: one left by a dead process is found by a prefix scan. */
  changing: (networkId: string, endpointId: string) => `endpoint-changing/${networkId}/${endpointId}`,
  sandbox: (id: string) => `sandbox/${id}`,
  sandboxName: (name: string) => `sandbox-name/${name}`,
  /** Published host ports, grouped by protocol and port so every address on one port is one prefix scan. */
  portBinding: (proto: string, port: number, hostIp: string) => `port/${proto}/${port}/${hostIp || '*'}`,
} as const;
