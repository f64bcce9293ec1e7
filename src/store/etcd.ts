/**
 * The cluster store on etcd (v3 API, through the etcd3 client, loaded only when a cluster store is
 * opened). Transactions are etcd's STM: an attempt's first read fixes a snapshot revision, later reads
 * are made at it, writes are buffered, and the commit is one etcd Txn that compares every key read
 * (its mod_revision, 0 when absent) and every listed prefix (a range compare: nothing in it changed
 * after the snapshot); when a compare fails the function runs again.
 *
 * A commit whose answer is lost (etcd killed mid-call) may or may not have been applied, and running
 * the function again could apply it twice. So every commit also creates a marker key, compared absent;
 * after a lost answer the store tries to create the same marker as "aborted": if that succeeds the
 * commit can never apply and the function runs again, otherwise the marker says it committed.
 */
import type * as Etcd from 'etcd3';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../errors';
import { DEFAULT_TIMEOUT_MS, EtcdCaller } from './etcd-call';
import { parseClusterUrl, readClusterTls, type ClusterAddress } from './etcd-url';
import { EtcdWatch, type WatchRange } from './etcd-watch';
import { RetrySignal, runTxn, type BufferedWrite, type RawKeyValue, type RawValue, type SnapshotReader, type TxnBuffer } from './stm';
import type { KeyValue, Lease, Store, StoreTxn, TxnOptions, Watch, WatchHandlers } from './store';

/** How to open a cluster store besides its address. */
export interface ClusterStoreOptions {
  /** Docker's --cluster-store-opt pairs; kv.cacertfile, kv.certfile and kv.keyfile select TLS. */
  options?: Record<string, string>;
  /** Deadline of each operation in ms (default 4000): etcd down fails an operation within it. */
  timeoutMs?: number;
}

/** Commit markers live this long, so a lost answer can be settled long after it was lost. */
const MARKER_TTL_S = 600;
/** A marker lease is replaced once less than this is left of it. */
const MARKER_SLACK_S = 300;
const COMMITTED = 'committed';
const ABORTED = 'aborted';

/**
 * Opens the store at Docker's `etcd://host:port[,host:port…][/prefix]`; throws InvalidArgument for a
 * bad address or option. Connects lazily: an unreachable cluster fails the first operation.
 */
export function openClusterStore(url: string, opts: ClusterStoreOptions = {}): EtcdStore {
  const address = parseClusterUrl(url);
  const tls = readClusterTls(opts.options ?? {});
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new InvalidArgumentError(`cluster store ${address.endpoint}: timeout ${timeoutMs} ms must be positive`);
  // Required here, not imported at the top: a process without a cluster store never loads gRPC.
  const etcd = require('etcd3') as typeof Etcd;
  // etcd3 only ever calls execute() on these; its default retry and circuit breaker would hold calls
  // back for 5 s after a restart, and the deadline loop in EtcdCaller already retries.
  const passThrough = { execute: async <T>(fn: (ctx: { signal: AbortSignal }) => T | PromiseLike<T>) => fn({ signal: new AbortController().signal }) };
  const policy = passThrough as unknown as NonNullable<NonNullable<Etcd.IOptions['faultHandling']>['global']>;
  const client = new etcd.Etcd3({
    hosts: address.hosts.map((h) => `${tls ? 'https' : 'http'}://${h}`),
    credentials: tls as Etcd.IOptions['credentials'],
    faultHandling: { host: () => policy, global: policy },
    // Reconnect quickly after a member restarts (gRPC's default backoff starts at 1 s and grows to 120 s).
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
  });
  return new EtcdStore(client, new EtcdCaller(etcd, address.endpoint, timeoutMs), address);
}

/** Key layout under the prefix: data under `<prefix>/kv/`, commit markers under `<prefix>/txn/`. */
class KeyCodec {
  private readonly kv: string;
  private readonly txn: string;

  constructor(prefix: string) {
    this.kv = `${prefix}/kv/`;
    this.txn = `${prefix}/txn/`;
  }

  key(key: string): Buffer {
    return Buffer.from(this.kv + key);
  }

  marker(): Buffer {
    return Buffer.from(this.txn + randomUUID());
  }

  range(prefix: string): WatchRange {
    const start = this.key(prefix);
    return { start, end: rangeEnd(start), toKey: (k) => k.toString().slice(this.kv.length) };
  }
}

/** The first key after every key starting with start (etcd's prefix range end). */
function rangeEnd(start: Buffer): Buffer {
  const end = Buffer.from(start);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

/** One attempt's view: reads at the revision of its first read. */
class EtcdSnapshot implements SnapshotReader {
  revision?: number;

  constructor(private readonly client: Etcd.Etcd3, private readonly caller: EtcdCaller, private readonly keys: KeyCodec) {}

  async read(key: string): Promise<RawValue | undefined> {
    const kv = (await this.range({ key: this.keys.key(key) })).kvs[0];
    return kv && { value: kv.value.toString(), modRevision: Number(kv.mod_revision) };
  }

  async readPrefix(prefix: string): Promise<RawKeyValue[]> {
    const r = this.keys.range(prefix);
    const res = await this.range({ key: r.start, range_end: r.end });
    return res.kvs.map((kv) => ({ key: r.toKey(kv.key), value: kv.value.toString(), modRevision: Number(kv.mod_revision) }));
  }

  private async range(req: Etcd.IRangeRequest): Promise<Etcd.IRangeResponse> {
    const at = this.revision === undefined ? {} : { revision: String(this.revision) };
    const res = await this.caller.call('read', async (o) => {
      try {
        return await this.client.kv.range({ ...req, ...at }, o);
      } catch (err) {
        // The snapshot was compacted away under the attempt: start again from a new one.
        throw this.caller.isCompacted(err) ? new RetrySignal(`revision ${this.revision} was compacted`) : err;
      }
    });
    this.revision ??= Number(res.header.revision);
    return res;
  }
}

/** The etcd store; compact() is public for tests and maintenance. */
export class EtcdStore implements Store {
  readonly endpoint: string;
  private readonly keys: KeyCodec;
  private readonly watches = new Set<Watch>();
  private markerLease?: Promise<string>;
  private markerReplaceAt = 0;

  constructor(private readonly client: Etcd.Etcd3, private readonly caller: EtcdCaller, address: ClusterAddress) {
    this.endpoint = address.endpoint;
    this.keys = new KeyCodec(address.prefix);
  }

  async get<T>(key: string): Promise<T | undefined> {
    const res = await this.caller.call('get', (o) => this.client.kv.range({ key: this.keys.key(key) }, o));
    const kv = res.kvs[0];
    return kv && (JSON.parse(kv.value.toString()) as T);
  }

  async list<T>(prefix: string): Promise<KeyValue<T>[]> {
    return (await this.listAt<T>(prefix)).items;
  }

  async listAt<T>(prefix: string): Promise<{ items: KeyValue<T>[]; revision: number }> {
    const r = this.keys.range(prefix);
    const res = await this.caller.call('list', (o) => this.client.kv.range({ key: r.start, range_end: r.end }, o));
    const items = res.kvs.map((kv) => ({ key: r.toKey(kv.key), value: JSON.parse(kv.value.toString()) as T, modRevision: Number(kv.mod_revision) }));
    return { items, revision: Number(res.header.revision) };
  }

  txn<R>(fn: (t: StoreTxn) => Promise<R>, opts?: TxnOptions): Promise<R> {
    const backend = { endpoint: this.endpoint, begin: () => new EtcdSnapshot(this.client, this.caller, this.keys), commit: (buf: TxnBuffer<EtcdSnapshot>) => this.commit(buf) };
    return runTxn(backend, fn, opts?.attempts);
  }

  watch(prefix: string, handlers: WatchHandlers, fromRevision?: number): Watch {
    const w = new EtcdWatch(this.client.watchClient, this.keys.range(prefix), handlers, fromRevision, this.endpoint);
    this.watches.add(w);
    return { close: async () => { this.watches.delete(w); await w.close(); } };
  }

  async grantLease(ttl: number): Promise<Lease> {
    if (!Number.isInteger(ttl) || ttl < 1) throw new InvalidArgumentError(`lease ttl ${ttl}: must be a whole number of seconds, at least 1`);
    const res = await this.caller.call('grant lease', (o) => this.client.leaseClient.leaseGrant({ TTL: ttl, ID: 0 }, o));
    // etcd raises a TTL below its minimum (about 1.5 election timeouts): report what it granted.
    return this.lease(String(res.ID), Number(res.TTL));
  }

  async attachLease(id: string): Promise<Lease> {
    if (!/^\d+$/.test(id)) throw new NotFoundError(`lease ${id}: not found`);
    const res = await this.caller.call(`lease ${id}`, (o) => this.client.leaseClient.leaseTimeToLive({ ID: id }, o));
    if (Number(res.TTL) <= 0) throw new NotFoundError(`lease ${id}: not found (expired or revoked)`);
    return this.lease(id, Number(res.grantedTTL));
  }

  /** Compacts etcd's history up to revision (etcd's own compaction); an older revision is a no-op. */
  async compact(revision: number): Promise<void> {
    await this.caller.call('compact', async (o) => {
      try {
        await this.client.kv.compact({ revision: String(revision), physical: true }, o);
      } catch (err) {
        if (!this.caller.isCompacted(err)) throw err;
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.close()));
    this.watches.clear();
    this.client.close();
  }

  private lease(id: string, ttl: number): Lease {
    return { id, ttl, keepAliveOnce: () => this.keepAlive(id), revoke: () => this.revoke(id) };
  }

  private async keepAlive(id: string): Promise<void> {
    const res = await this.caller.call(`lease ${id}`, async (o) => {
      // A keep-alive is a stream: send one request, take one answer, end it; the deadline covers it all.
      const stream = await this.client.leaseClient.leaseKeepAlive({ deadline: o.deadline });
      return new Promise<Etcd.ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on('data', (r: Etcd.ILeaseKeepAliveResponse) => { resolve(r); stream.end(); });
        stream.on('error', (err: Error) => reject(this.caller.cast(err)));
        stream.write({ ID: id });
      });
    });
    if (Number(res.TTL) <= 0) throw new NotFoundError(`lease ${id}: not found (expired or revoked)`);
  }

  private async revoke(id: string): Promise<void> {
    try {
      await this.caller.call(`revoke lease ${id}`, (o) => this.client.leaseClient.leaseRevoke({ ID: id }, o));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err; // already gone: revoke is idempotent
    }
  }

  /** One etcd Txn: the attempt's compares plus its marker's absence; false when a compare failed. */
  private async commit(buf: TxnBuffer<EtcdSnapshot>): Promise<boolean> {
    if (buf.writes.size === 0) return true; // every read was at one revision: already serializable
    const marker = this.keys.marker();
    const lease = await this.commitLease();
    const req: Etcd.ITxnRequest = {
      compare: [...this.compares(buf), markerAbsent(marker)],
      success: [...this.ops(buf.writes), { request_put: { key: marker, value: Buffer.from(COMMITTED), lease } }],
      failure: [],
    };
    try {
      return (await this.client.kv.txn(req, { deadline: Date.now() + this.caller.timeoutMs })).succeeded;
    } catch (err) {
      if (!this.caller.isUnavailable(err)) throw this.caller.translate('commit', err);
      return this.settle(marker, lease);
    }
  }

  private compares(buf: TxnBuffer<EtcdSnapshot>): Etcd.ICompare[] {
    const snapshot = buf.reader.revision;
    if (snapshot === undefined) return []; // nothing read: blind writes need no compare
    const prefixes = [...buf.prefixes];
    const out: Etcd.ICompare[] = prefixes.map((p) => {
      const r = this.keys.range(p);
      return { key: r.start, range_end: r.end, target: 'Mod', result: 'Less', mod_revision: String(snapshot + 1) };
    });
    for (const [key, mod] of buf.reads) {
      // A key absent from a listed range is covered by the range compare; a present one is not, as a
      // range compare cannot see a key that was deleted.
      if (mod === 0 && prefixes.some((p) => key.startsWith(p))) continue;
      out.push({ key: this.keys.key(key), target: 'Mod', result: 'Equal', mod_revision: String(mod) });
    }
    return out;
  }

  private ops(writes: Map<string, BufferedWrite>): Etcd.IRequestOp[] {
    return [...writes].map(([key, w]) => w.value === undefined
      ? { request_delete_range: { key: this.keys.key(key) } }
      : { request_put: { key: this.keys.key(key), value: Buffer.from(w.value), lease: w.lease ?? '0' } });
  }

  /** After a lost answer: fence the marker; true when the commit was applied, false when it never will be. */
  private async settle(marker: Buffer, lease: string): Promise<boolean> {
    let res: Etcd.ITxnResponse;
    try {
      res = await this.caller.call('settle commit', (o) => this.client.kv.txn({
        compare: [markerAbsent(marker)],
        success: [{ request_put: { key: marker, value: Buffer.from(ABORTED), lease } }],
        failure: [{ request_range: { key: marker } }],
      }, o));
    } catch (err) {
      if (err instanceof UnavailableError) throw this.caller.unavailable(err.cause, '; the last commit may or may not have been applied');
      throw err;
    }
    if (res.succeeded) return false;
    return res.responses[0].response_range.kvs[0]?.value.toString() === COMMITTED;
  }

  /** The lease commit markers are bound to, replaced well before it expires; shared by concurrent commits. */
  private commitLease(): Promise<string> {
    const now = Date.now();
    if (this.markerLease && now < this.markerReplaceAt) return this.markerLease;
    this.markerReplaceAt = now + (MARKER_TTL_S - MARKER_SLACK_S) * 1000;
    const grant = this.caller.call('grant commit lease', (o) => this.client.leaseClient.leaseGrant({ TTL: MARKER_TTL_S, ID: 0 }, o))
      .then((res) => String(res.ID));
    // A failed grant must not stick: the next commit asks again.
    grant.catch(() => { if (this.markerLease === grant) this.markerLease = undefined; });
    return (this.markerLease = grant);
  }
}

/** Compare: the marker key does not exist (version 0). */
function markerAbsent(marker: Buffer): Etcd.ICompare {
  return { key: marker, target: 'Version', result: 'Equal', version: 0 };
}
