/**
 * The SQLite store's tables and their migration. Version 0 is the layout of the first release (kv,
 * tombstone, meta.rev); version 1 adds the history the watch and the transactions read, leases, and
 * the compacted revision. Opening runs the migration once, under the write lock, so racing openers
 * cannot both alter the tables.
 */
import type Database from 'better-sqlite3';

/** The first release's tables: kept as they were, so a store it wrote opens unchanged. */
const BASE = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstone (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstone_rev ON tombstone (rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('rev', 0);
`;

/**
 * Version 1. history holds one row per change (value NULL for a delete) for revisions at or after
 * meta.compacted; a store migrated from version 0 has no history yet, so its compacted revision
 * starts at its current revision and a watch from before it gets CompactedError. tombstone is no
 * longer written; it stays for a release that opens the file after a downgrade.
 */
const V1 = `
ALTER TABLE kv ADD COLUMN lease INTEGER;
CREATE INDEX kv_lease ON kv (lease) WHERE lease IS NOT NULL;
CREATE TABLE history (rev INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (rev, key)) WITHOUT ROWID;
CREATE INDEX history_key ON history (key, rev);
CREATE TABLE lease (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl INTEGER NOT NULL, expiry INTEGER NOT NULL);
CREATE INDEX lease_expiry ON lease (expiry);
INSERT OR IGNORE INTO meta SELECT 'compacted', value FROM meta WHERE name = 'rev';
`;

/**
 * End of the key range of prefix, for `key >= prefix AND key < end`. SQLite compares TEXT as UTF-8
 * bytes, and no UTF-8 character sorts after U+10FFFF (store.ts's U+FFFF would miss keys with emoji).
 */
export function rangeEnd(prefix: string): string {
  return prefix + '\u{10FFFF}';
}

/** The schema version this code writes (PRAGMA user_version). */
export const SCHEMA_VERSION = 1;

/** Creates or migrates the tables; throws when the file was written by a newer release. */
export function migrate(db: Database.Database): void {
  // Current already (the schema and its version are written in one transaction): no write lock, no write.
  if (db.pragma('user_version', { simple: true }) === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(BASE);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this release's ${SCHEMA_VERSION}`);
    if (version < 1) db.exec(V1);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** A kv row as read. */
export interface KvRow {
  key: string;
  value: string;
  rev: number;
}

/** A history row as read; value null is a delete. */
export interface HistoryRow {
  rev: number;
  key: string;
  value: string | null;
}

/** Every statement the store runs, prepared once per connection. */
export interface Statements {
  get: Database.Statement<[string], KvRow>;
  list: Database.Statement<[string, string], KvRow>;
  meta: Database.Statement<[string], { value: number }>;
  setMeta: Database.Statement<[number, string]>;
  bump: Database.Statement<[], { value: number }>;
  put: Database.Statement<[string, string, number, number | null]>;
  del: Database.Statement<[string]>;
  record: Database.Statement<[number, string, string | null]>;
  keyChanged: Database.Statement<[string, number], { one: number }>;
  rangeChanged: Database.Statement<[string, string, number], { one: number }>;
  changes: Database.Statement<[number, number, string, string], HistoryRow>;
  prune: Database.Statement<[number]>;
  grant: Database.Statement<[number, number]>;
  lease: Database.Statement<[number, number], { id: number; ttl: number }>;
  renew: Database.Statement<[number, number, number]>;
  expired: Database.Statement<[number], { id: number }>;
  dropLease: Database.Statement<[number]>;
  leaseKeys: Database.Statement<[number], { key: string }>;
}

/** Every statement the store runs, by name. */
const SQL: { readonly [K in keyof Statements]: string } = {
  get: 'SELECT key, value, rev FROM kv WHERE key = ?',
  list: 'SELECT key, value, rev FROM kv WHERE key >= ? AND key < ? ORDER BY key',
  meta: 'SELECT value FROM meta WHERE name = ?',
  setMeta: 'UPDATE meta SET value = ? WHERE name = ?',
  bump: "UPDATE meta SET value = value + 1 WHERE name = 'rev' RETURNING value",
  put: 'INSERT INTO kv (key, value, rev, lease) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, rev = excluded.rev, lease = excluded.lease',
  del: 'DELETE FROM kv WHERE key = ?',
  record: 'INSERT INTO history (rev, key, value) VALUES (?, ?, ?)',
  keyChanged: 'SELECT 1 AS one FROM history WHERE key = ? AND rev > ? LIMIT 1',
  rangeChanged: 'SELECT 1 AS one FROM history WHERE key >= ? AND key < ? AND rev > ? LIMIT 1',
  changes: 'SELECT rev, key, value FROM history WHERE rev > ? AND rev <= ? AND key >= ? AND key < ? ORDER BY rev, key',
  prune: 'DELETE FROM history WHERE rev < ?',
  grant: 'INSERT INTO lease (ttl, expiry) VALUES (?, ?)',
  lease: 'SELECT id, ttl FROM lease WHERE id = ? AND expiry >= ?',
  renew: 'UPDATE lease SET expiry = ttl * 1000 + ? WHERE id = ? AND expiry >= ?',
  expired: 'SELECT id FROM lease WHERE expiry < ?',
  dropLease: 'DELETE FROM lease WHERE id = ?',
  leaseKeys: 'SELECT key FROM kv WHERE lease = ?',
};

/**
 * The statements of db, each prepared on its first use and kept: a read-only command (tsnet ls) runs
 * a few of them, and preparing all eighteen costs it about a millisecond.
 */
export function prepare(db: Database.Database): Statements {
  const statements = {} as Statements;
  for (const name of Object.keys(SQL) as (keyof Statements)[]) {
    Object.defineProperty(statements, name, {
      configurable: true,
      enumerable: true,
      get() {
        const statement = db.prepare(SQL[name]);
        Object.defineProperty(statements, name, { value: statement, enumerable: true });
        return statement;
      },
    });
  }
  return statements;
}
