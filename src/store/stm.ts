/**
 * The software transactional memory both backends share (etcd's STM, concurrency/stm.go): a
 * transaction reads through a backend snapshot, remembers what it read, buffers what it writes, and
 * the backend commits only when nothing read changed; otherwise the function runs again.
 */
import { ConflictError, InvalidArgumentError } from '../errors';
import type { KeyValue, PutOptions, StoreTxn } from './store';

/** A value as a backend holds it: JSON text and the revision of its last change. */
export interface RawValue {
  value: string;
  modRevision: number;
}

/** A listed key as a backend holds it. */
export interface RawKeyValue extends RawValue {
  key: string;
}

/** How one attempt of a transaction reads its backend: every read at the same snapshot. */
export interface SnapshotReader {
  /** The key at the snapshot; throws RetrySignal when the snapshot can no longer be read. */
  read(key: string): Promise<RawValue | undefined>;
  /** Every key under prefix at the snapshot, in key order; throws RetrySignal like read. */
  readPrefix(prefix: string): Promise<RawKeyValue[]>;
}

/** A buffered write: JSON text to put (bound to a lease id when given), or a delete when value is undefined. */
export interface BufferedWrite {
  value?: string;
  lease?: string;
}

/** The snapshot moved under a running attempt: the attempt is dropped and fn runs again. Never escapes txn(). */
export class RetrySignal extends Error {
  constructor(why: string) {
    super(`transaction must run again: ${why}`);
    this.name = 'RetrySignal';
  }
}

/** Orders keys as SQLite (BINARY on UTF-8) and etcd (bytes) do, which differs from JS string order above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One attempt of a transaction: the StoreTxn handed to fn, recording its read set and write buffer. */
export class TxnBuffer<Reader extends SnapshotReader = SnapshotReader> implements StoreTxn {
  /** Revision observed for every key read (0 when absent), in read order. */
  readonly reads = new Map<string, number>();
  /** Every prefix listed: a key created under one after the snapshot is a conflict too. */
  readonly prefixes = new Set<string>();
  /** Writes in the order made; a later write to a key replaces the earlier one. */
  readonly writes = new Map<string, BufferedWrite>();
  /** The first failed read: fn may have caught it, but an attempt that missed a read must not commit. */
  failure?: unknown;
  private readonly seen = new Map<string, RawValue | undefined>();

  /** The attempt's reader: the backend's commit asks it for the snapshot revision. */
  constructor(readonly reader: Reader) {}

  async get<T>(key: string): Promise<T | undefined> {
    const w = this.writes.get(key);
    if (w) return w.value === undefined ? undefined : (JSON.parse(w.value) as T);
    const r = await this.readKey(key);
    return r && (JSON.parse(r.value) as T);
  }

  async list<T>(prefix: string): Promise<KeyValue<T>[]> {
    const rows = await this.guard(this.reader.readPrefix(prefix));
    this.prefixes.add(prefix);
    const merged = new Map<string, KeyValue<T>>();
    for (const r of rows) {
      this.remember(r.key, r);
      merged.set(r.key, { key: r.key, value: JSON.parse(r.value) as T, modRevision: r.modRevision });
    }
    for (const [key, w] of this.writes) {
      if (!key.startsWith(prefix)) continue;
      // An uncommitted write has no revision yet: 0 says so.
      if (w.value === undefined) merged.delete(key);
      else merged.set(key, { key, value: JSON.parse(w.value) as T, modRevision: 0 });
    }
    return [...merged.values()].sort((a, b) => compareKeys(a.key, b.key));
  }

  put<T>(key: string, value: T, opts?: PutOptions): void {
    const text = JSON.stringify(value);
    // undefined would read back as a delete; refuse it instead of guessing.
    if (text === undefined) throw new InvalidArgumentError(`store put ${key}: value is not JSON`);
    this.writes.set(key, opts?.lease ? { value: text, lease: opts.lease.id } : { value: text });
  }

  async create<T>(key: string, value: T, opts?: PutOptions): Promise<boolean> {
    if ((await this.get(key)) !== undefined) return false;
    this.put(key, value, opts);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    if ((await this.get(key)) === undefined) return false;
    this.writes.set(key, {});
    return true;
  }

  /** Reads key once per attempt: later reads reuse the first observation (the snapshot does not move). */
  private async readKey(key: string): Promise<RawValue | undefined> {
    if (this.seen.has(key)) return this.seen.get(key);
    const r = await this.guard(this.reader.read(key));
    this.remember(key, r);
    return r;
  }

  private async guard<V>(read: Promise<V>): Promise<V> {
    try {
      return await read;
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  private remember(key: string, r: RawValue | undefined): void {
    if (this.seen.has(key)) return;
    this.seen.set(key, r);
    this.reads.set(key, r?.modRevision ?? 0);
  }
}

/** What runTxn needs of a backend. */
export interface TxnBackend<Reader extends SnapshotReader> {
  /** Which backend, for the conflict message. */
  readonly endpoint: string;
  /** A reader for one new attempt (its snapshot is fixed by its first read). */
  begin(): Reader;
  /** Commits the attempt's writes if nothing it read changed; false on a conflict. */
  commit(buf: TxnBuffer<Reader>): Promise<boolean>;
}

/** Default attempts before a transaction that keeps conflicting is reported (TxnOptions.attempts). */
export const DEFAULT_ATTEMPTS = 64;

/** Runs fn as one serializable transaction on backend, re-running it on conflict with jittered backoff. */
export async function runTxn<R, Reader extends SnapshotReader>(backend: TxnBackend<Reader>, fn: (t: StoreTxn) => Promise<R>, attempts = DEFAULT_ATTEMPTS): Promise<R> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const buf = new TxnBuffer(backend.begin());
    let result: R;
    try {
      result = await fn(buf);
      if (buf.failure !== undefined) throw buf.failure;
    } catch (err) {
      // A failed read decides the outcome even when fn caught it and threw something else.
      const cause = buf.failure ?? err;
      if (!(cause instanceof RetrySignal)) throw cause;
      await backoff(attempt);
      continue;
    }
    if (await backend.commit(buf)) return result;
    await backoff(attempt);
  }
  throw new ConflictError(`store ${backend.endpoint}: transaction still conflicting after ${attempts} attempts`);
}

/** Full jitter, capped at 100 ms: racers spread out instead of colliding again in lockstep. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(2 ** attempt, 100);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
