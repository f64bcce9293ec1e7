/** The single source of truth: a key/value store with prefix listing, transactions and change watching. */

/** Reads and writes inside one transaction; every call sees the writes made before it. */
export interface StoreTxn {
  get<T>(key: string): T | undefined;
  list<T>(prefix: string): { key: string; value: T }[];
  put<T>(key: string, value: T): void;
  /** Inserts only when the key is absent; returns false when it was taken. */
  create<T>(key: string, value: T): boolean;
  delete(key: string): boolean;
}

/** A change seen by a watcher: value undefined means the key was deleted. */
export interface StoreEvent {
  key: string;
  value: unknown;
}

/** The store contract (DESIGN.md): get, list(prefix), txn(fn), watch(prefix). */
export interface Store {
  get<T>(key: string): T | undefined;
  list<T>(prefix: string): { key: string; value: T }[];
  /** Runs fn in one exclusive transaction, safe against other processes; rolls back when fn throws. */
  txn<R>(fn: (t: StoreTxn) => R): R;
  /** Calls onChange for every later change under prefix, made by this or any other process. Returns a stop function. */
  watch(prefix: string, onChange: (events: StoreEvent[]) => void): () => void;
  close(): void;
}

/** Key layout, in one place. */
export const keys = {
  network: (id: string) => `network/${id}`,
  networkName: (name: string) => `network-name/${name}`,
  /** Endpoints live under their network, so a network's endpoints are one prefix scan. */
  endpoint: (networkId: string, id: string) => `endpoint/${networkId}/${id}`,
  /** Index sandbox → its endpoints (value: network id). */
  sandboxEndpoint: (sandboxId: string, endpointId: string) => `sandbox-ep/${sandboxId}/${endpointId}`,
  sandbox: (id: string) => `sandbox/${id}`,
  sandboxName: (name: string) => `sandbox-name/${name}`,
  /** Published host ports, grouped by protocol and port so every address on one port is one prefix scan. */
  portBinding: (proto: string, port: number, hostIp: string) => `port/${proto}/${port}/${hostIp || '*'}`,
} as const;
