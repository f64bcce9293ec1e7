/**
 * How a test names a store so another process can open the same one: the contract suite and the
 * IPAM concurrency test hand this to forked children.
 */
import { openClusterStore } from '../../../src/store/etcd';
import { openSqliteStore } from '../../../src/store/sqlite';
import type { Store } from '../../../src/store/store';

/** A store another process can open: a SQLite state dir, or an etcd address with its prefix. */
export type StoreSpec = { backend: 'sqlite'; stateDir: string } | { backend: 'etcd'; url: string };

/** What the contract suite needs beyond the Store contract. */
export interface StoreHooks {
  /** Drops history before revision (the backend's own compaction). */
  compact(revision: number): Promise<void>;
  /** How a child process opens this same store. */
  readonly spec: StoreSpec;
}

/** A store under test. */
export type StoreUnderTest = Store & StoreHooks;

/** Opens the store spec names, with its test hooks. */
export function openSpec(spec: StoreSpec): StoreUnderTest {
  const store = spec.backend === 'sqlite' ? openSqliteStore(spec.stateDir) : openClusterStore(spec.url);
  return Object.assign(store, { spec });
}
