/** SQLite store under the state directory: WAL, immediate transactions, safe for many processes at once. */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InternalError } from '../errors';
import type { Store, StoreEvent, StoreTxn } from './store';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstone (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstone_rev ON tombstone (rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('rev', 0);
`;

/** Revisions a tombstone is kept for: keys are random ids, so without pruning the table would only grow. */
const TOMBSTONE_HORIZON = 10_000;

/** Smallest string greater than every string starting with prefix. */
function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}

/** Opens (creating if needed) the store file state.db in stateDir. */
export function openSqliteStore(stateDir: string): Store {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return new SqliteStore(path.join(stateDir, 'state.db'));
}

class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly watchers = new Set<{ prefix: string; rev: number; onChange: (e: StoreEvent[]) => void }>();
  private pollTimer?: NodeJS.Timeout;

  constructor(file: string) {
    try {
      this.db = new Database(file, { timeout: 30000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new InternalError(`open store ${file}: ${(err as Error).message}`, { cause: err });
    }
    const db = this.db;
    this.stmts = {
      get: db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?'),
      list: db.prepare<[string, string], { key: string; value: string }>('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key'),
      bump: db.prepare<[], { value: number }>("UPDATE meta SET value = value + 1 WHERE name = 'rev' RETURNING value"),
      put: db.prepare<[string, string, number]>('INSERT INTO kv (key, value, rev) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, rev = excluded.rev'),
      insert: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO kv (key, value, rev) VALUES (?, ?, ?)'),
      del: db.prepare<[string]>('DELETE FROM kv WHERE key = ?'),
      tomb: db.prepare<[string, number]>('INSERT INTO tombstone (key, rev) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET rev = excluded.rev'),
      prune: db.prepare<[number]>('DELETE FROM tombstone WHERE rev < ?'),
      untomb: db.prepare<[string]>('DELETE FROM tombstone WHERE key = ?'),
      rev: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'rev'"),
      changed: db.prepare<[{ lo: string; hi: string; rev: number }], { key: string; value: string | null }>(
        'SELECT key, value FROM kv WHERE key >= @lo AND key < @hi AND rev > @rev UNION ALL SELECT key, NULL FROM tombstone WHERE key >= @lo AND key < @hi AND rev > @rev'),
    };
  }

  get<T>(key: string): T | undefined {
    const row = this.stmts.get.get(key);
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  list<T>(prefix: string): { key: string; value: T }[] {
    return this.stmts.list.all(prefix, prefixEnd(prefix)).map((r) => ({ key: r.key, value: JSON.parse(r.value) as T }));
  }

  txn<R>(fn: (t: StoreTxn) => R): R {
    const s = this.stmts;
    let rev = 0;
    // One revision per transaction, taken lazily so read-only transactions do not bump it.
    const nextRev = () => (rev ||= s.bump.get()!.value);
    const t: StoreTxn = {
      get: (key) => this.get(key),
      list: (prefix) => this.list(prefix),
      put: (key, value) => {
        s.put.run(key, JSON.stringify(value), nextRev());
        s.untomb.run(key);
      },
      create: (key, value) => {
        const ok = s.insert.run(key, JSON.stringify(value), nextRev()).changes === 1;
        if (ok) s.untomb.run(key);
        return ok;
      },
      delete: (key) => {
        const ok = s.del.run(key).changes === 1;
        if (ok) {
          const rev = nextRev();
          s.tomb.run(key, rev);
          // Watchers poll every 25 ms; a deletion older than this many revisions has long been seen.
          if (rev % 256 === 0) s.prune.run(rev - TOMBSTONE_HORIZON);
        }
        return ok;
      },
    };
    return this.db.transaction(() => fn(t)).immediate();
  }

  watch(prefix: string, onChange: (events: StoreEvent[]) => void): () => void {
    const w = { prefix, rev: this.stmts.rev.get()!.value, onChange };
    this.watchers.add(w);
    if (!this.pollTimer) {
      let dataVersion = -1;
      // data_version changes whenever another connection commits: a cheap check before any query.
      this.pollTimer = setInterval(() => {
        const dv = this.db.pragma('data_version', { simple: true }) as number;
        if (dv === dataVersion && !this.localWrites()) return;
        dataVersion = dv;
        this.poll();
      }, 25);
      this.pollTimer.unref();
    }
    return () => {
      this.watchers.delete(w);
      if (this.watchers.size === 0 && this.pollTimer) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
      }
    };
  }

  private lastLocalRev = -1;
  private localWrites(): boolean {
    const rev = this.stmts.rev.get()!.value;
    const changed = rev !== this.lastLocalRev;
    this.lastLocalRev = rev;
    return changed;
  }

  /** Delivers changes since each watcher's last revision. */
  poll(): void {
    const rev = this.stmts.rev.get()!.value;
    for (const w of this.watchers) {
      if (rev <= w.rev) continue;
      const rows = this.stmts.changed.all({ lo: w.prefix, hi: prefixEnd(w.prefix), rev: w.rev });
      w.rev = rev;
      if (rows.length) w.onChange(rows.map((r) => ({ key: r.key, value: r.value === null ? undefined : JSON.parse(r.value) })));
    }
  }

  close(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.watchers.clear();
    this.db.close();
  }
}
