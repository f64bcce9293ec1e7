/** Store snapshots: every key, to prove a failed or undone operation left no record behind. */
import { defaultStateDir } from '../../src/config';
import { openSqliteStore } from '../../src/store/sqlite';

/** Every key in the store of the test's state directory (values of ipam "last" cursors are ignored). */
export function storeKeys(): string[] {
  const store = openSqliteStore(defaultStateDir());
  try {
    return store.list('').map((e) => e.key).filter((k) => !k.startsWith('ipam/last/')).sort();
  } finally {
    store.close();
  }
}
