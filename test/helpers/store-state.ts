/**
 * Store snapshots: every key, to prove a failed or undone operation left no record behind. Read
 * straight from the SQLite file (its kv table), not through the store: a snapshot must not depend
 * on the code under test, and needs no event loop turn between two CLI runs.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultStateDir } from '../../src/config';

/** The store file of the test's state directory (what openSqliteStore opens). */
export function storeFile(): string {
  return path.join(defaultStateDir(), 'state.db');
}

/** Every key in the store of the test's state directory (values of ipam "last" cursors are ignored). */
export function storeKeys(): string[] {
  const file = storeFile();
  // No file yet: nothing has been recorded (opening it here would create an empty one).
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true, timeout: 30000 });
  try {
    const rows = db.prepare<[], { key: string }>('SELECT key FROM kv').all();
    return rows.map((r) => r.key).filter((k) => !k.startsWith('ipam/last/')).sort();
  } finally {
    db.close();
  }
}

/** Every record (key and parsed value) of the store file at file: the test's, or a simulated host's. */
export function storeRecords(file = storeFile()): { key: string; value: any }[] {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 30000 });
  try {
    return db.prepare<[], { key: string; value: string }>('SELECT key, value FROM kv ORDER BY key').all().map((r) => ({ key: r.key, value: JSON.parse(r.value) }));
  } finally {
    db.close();
  }
}
