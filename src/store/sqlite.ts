/**
 * The embedded store: one SQLite file (state.db, WAL) under the state directory, safe for many
 * processes at once. Transactions are optimistic: an attempt reads at the revision of its first read
 * (a later read that sees a newer change drops the attempt at once), and its commit, under
 * BEGIN IMMEDIATE, first checks in the history table that nothing it read changed since; so no
 * connection ever holds the write lock while fn awaits. Leases expire by the wall clock; whichever
 * process notices first deletes their keys.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InternalError, InvalidArgumentError, NotFoundError } from '../errors';
import { migrate, prepare, rangeEnd, type Statements } from './sqlite-schema';
import { SqliteWatches } from './sqlite-watch';
import { RetrySignal, runTxn, type BufferedWrite, type RawKeyValue, type RawValue, type SnapshotReader, type TxnBuffer } from './stm';
import type { KeyValue, Lease, Store, StoreTxn, TxnOptions, Watch, WatchHandlers } from './store';

/** Revisions of history kept by the automatic compaction (a watcher lagging further re-lists). */
export const HISTORY_HORIZON = 10_000;
/** The automatic compaction runs on every revision that is a multiple of this. */
const COMPACT_EVERY = 256;
/** How often expired leases are looked for. */
const SWEEP_MS = 250;

/** Opens (creating or migrating if needed) the store file state.db in stateDir. */
export function openSqliteStore(stateDir: string): SqliteStore {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return new SqliteStore(path.join(stateDir, 'state.db'));
}

/** One attempt's view: the revision its first read saw. */
class SqliteSnapshot implements SnapshotReader {
  revision?: number;

  constructor(private readonly db: Database.Database, private readonly s: Statements) {}

  async read(key: string): Promise<RawValue | undefined> {
    return this.db.transaction(() => {
      const rev = this.fix();
      const row = this.s.get.get(key);
      if (row ? row.rev > rev : this.s.keyChanged.get(key, rev)) throw new RetrySignal(`${key} changed after revision ${rev}`);
      return row && { value: row.value, modRevision: row.rev };
    })();
  }

  async readPrefix(prefix: string): Promise<RawKeyValue[]> {
    return this.db.transaction(() => {
      const rev = this.fix();
      if (this.s.rangeChanged.get(prefix, rangeEnd(prefix), rev)) throw new RetrySignal(`a key under ${prefix} changed after revision ${rev}`);
      return this.s.list.all(prefix, rangeEnd(prefix)).map((r) => ({ key: r.key, value: r.value, modRevision: r.rev }));
    })();
  }

  private fix(): number {
    return (this.revision ??= this.s.meta.get('rev')!.value);
  }
}

/** How long an open keeps retrying a database another process is recovering or converting. */
const OPEN_BUSY_MS = 10000;

/**
 * Opens the file in WAL mode with the schema in place. Some busy states are not covered by the busy
 * timeout: switching to WAL, and the recovery the first opener after a killed process runs, answer
 * SQLITE_BUSY at once to everyone else. Those are retried for up to OPEN_BUSY_MS.
 */
function openDatabase(file: string): Database.Database {
  const deadline = Date.now() + OPEN_BUSY_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: 30000 });
      // Already WAL for every open but a file's first: no lock needed then.
      if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
      return db;
    } catch (err) {
      db?.close();
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
    }
  }
}

/** The SQLite store; compact() is public for tests and maintenance. */
export class SqliteStore implements Store {
  readonly endpoint: string;
  private readonly db: Database.Database;
  private readonly s: Statements;
  private readonly watches: SqliteWatches;
  private readonly sweeper: NodeJS.Timeout;

  constructor(file: string) {
    this.endpoint = `sqlite:${file}`;
    try {
      this.db = openDatabase(file);
    } catch (err) {
      throw new InternalError(`open store ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.s = prepare(this.db);
    this.watches = new SqliteWatches(this.db, this.s);
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  async get<T>(key: string): Promise<T | undefined> {
    const row = this.s.get.get(key);
    return row && (JSON.parse(row.value) as T);
  }

  async list<T>(prefix: string): Promise<KeyValue<T>[]> {
    return this.rows<T>(prefix);
  }

  async listAt<T>(prefix: string): Promise<{ items: KeyValue<T>[]; revision: number }> {
    // One read transaction: the listing and its revision come from the same snapshot.
    return this.db.transaction(() => ({ items: this.rows<T>(prefix), revision: this.s.meta.get('rev')!.value }))();
  }

  txn<R>(fn: (t: StoreTxn) => Promise<R>, opts?: TxnOptions): Promise<R> {
    return runTxn({ endpoint: this.endpoint, begin: () => new SqliteSnapshot(this.db, this.s), commit: async (buf) => this.commit(buf) }, fn, opts?.attempts);
  }

  watch(prefix: string, handlers: WatchHandlers, fromRevision?: number): Watch {
    return this.watches.add(prefix, handlers, fromRevision);
  }

  async grantLease(ttl: number): Promise<Lease> {
    if (!Number.isInteger(ttl) || ttl < 1) throw new InvalidArgumentError(`lease ttl ${ttl}: must be a whole number of seconds, at least 1`);
    const id = this.s.grant.run(ttl, Date.now() + ttl * 1000).lastInsertRowid;
    return this.lease(String(id), ttl);
  }

  async attachLease(id: string): Promise<Lease> {
    const row = this.s.lease.get(leaseNumber(id), Date.now());
    if (!row) throw new NotFoundError(`lease ${id}: not found (expired or revoked)`);
    return this.lease(id, row.ttl);
  }

  /** Drops history before revision (at most the current one); a watch from before it gets CompactedError. */
  async compact(revision: number): Promise<void> {
    this.db.transaction(() => this.compactTo(revision)).immediate();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    clearInterval(this.sweeper);
    this.watches.stop();
    this.db.close();
  }

  private rows<T>(prefix: string): KeyValue<T>[] {
    return this.s.list.all(prefix, rangeEnd(prefix)).map((r) => ({ key: r.key, value: JSON.parse(r.value) as T, modRevision: r.rev }));
  }

  private lease(id: string, ttl: number): Lease {
    return { id, ttl, keepAliveOnce: async () => this.renew(id), revoke: async () => this.revoke(id) };
  }

  private renew(id: string): void {
    const now = Date.now();
    if (this.s.renew.run(now, leaseNumber(id), now).changes === 0) throw new NotFoundError(`lease ${id}: not found (expired or revoked)`);
  }

  private revoke(id: string): void {
    const n = leaseNumber(id);
    const rev = this.db.transaction(() => this.dropLeases([n])).immediate();
    if (rev) this.watches.kick();
  }

  /** Deletes the keys of every expired lease, and the leases, at one new revision. */
  private sweep(): void {
    if (!this.db.open || !this.s.expired.get(Date.now())) return;
    const rev = this.db.transaction(() => this.dropLeases(this.s.expired.all(Date.now()).map((r) => r.id))).immediate();
    if (rev) this.watches.kick();
  }

  /** Inside a write transaction: deletes the leases and their keys; returns the revision used, 0 when nothing changed. */
  private dropLeases(ids: number[]): number {
    let rev = 0;
    for (const id of ids) {
      for (const { key } of this.s.leaseKeys.all(id)) {
        this.s.del.run(key);
        this.s.record.run((rev ||= this.s.bump.get()!.value), key, null);
      }
      this.s.dropLease.run(id);
    }
    return rev;
  }

  /** Validates the attempt's reads and applies its writes, all under the write lock; false on a conflict. */
  private commit(buf: TxnBuffer<SqliteSnapshot>): boolean {
    // Reads were checked one by one against the snapshot: a read-only attempt is already serializable.
    if (buf.writes.size === 0) return true;
    const rev = this.db.transaction(() => {
      // Expired leases go first, so a key this attempt read that has just expired is a conflict.
      this.dropLeases(this.s.expired.all(Date.now()).map((r) => r.id));
      const snapshot = buf.reader.revision;
      if (snapshot !== undefined && !this.unchangedSince(buf, snapshot)) return -1;
      return this.apply(buf.writes);
    }).immediate();
    // Even a conflicting attempt may have swept leases: let local watches look.
    this.watches.kick();
    return rev >= 0;
  }

  private unchangedSince(buf: TxnBuffer<SqliteSnapshot>, snapshot: number): boolean {
    // History after the snapshot must still be there to prove nothing changed.
    if (snapshot + 1 < this.s.meta.get('compacted')!.value) return false;
    const prefixes = [...buf.prefixes];
    for (const p of prefixes) if (this.s.rangeChanged.get(p, rangeEnd(p), snapshot)) return false;
    for (const key of buf.reads.keys()) {
      if (prefixes.some((p) => key.startsWith(p))) continue; // covered by its range
      if (this.s.keyChanged.get(key, snapshot)) return false;
    }
    return true;
  }

  /** Writes at one new revision (taken only when something changes); returns it, or 0. */
  private apply(writes: Map<string, BufferedWrite>): number {
    const now = Date.now();
    let rev = 0;
    const next = () => (rev ||= this.s.bump.get()!.value);
    for (const [key, w] of writes) {
      if (w.value === undefined) {
        if (this.s.del.run(key).changes) this.s.record.run(next(), key, null);
        continue;
      }
      const lease = w.lease === undefined ? null : leaseNumber(w.lease);
      if (lease !== null && !this.s.lease.get(lease, now)) throw new NotFoundError(`put ${key}: lease ${w.lease} not found (expired or revoked)`);
      this.s.put.run(key, w.value, next(), lease);
      this.s.record.run(rev, key, w.value);
    }
    if (rev && rev % COMPACT_EVERY === 0) this.compactTo(rev - HISTORY_HORIZON);
    return rev;
  }

  /** Inside a write transaction: raises the compacted revision to revision (bounded by the current one). */
  private compactTo(revision: number): void {
    const target = Math.min(revision, this.s.meta.get('rev')!.value);
    if (target <= this.s.meta.get('compacted')!.value) return;
    this.s.prune.run(target);
    this.s.setMeta.run(target, 'compacted');
  }
}

/** A lease id as stored; an id that is not one of ours is simply not found. */
function leaseNumber(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new NotFoundError(`lease ${id}: not found`);
  return Number(id);
}
