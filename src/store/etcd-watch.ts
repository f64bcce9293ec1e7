/**
 * A watch on etcd over the raw Watch stream. The etcd3 client's Watcher resumes from the response
 * header's revision, but etcd sends the current revision there even when a catch-up batch stops short
 * of it (watchable_store.go syncWatchers: moreRev), so a reconnect could skip events; and it drops a
 * compaction's revision. Here the resume point is the last event's revision + 1 (the header only
 * counts for progress notifications, sent once a watch has caught up), and a compaction ends the watch
 * with CompactedError.
 */
import type * as Etcd from 'etcd3';
import { InternalError } from '../errors';
import { CompactedError, type StoreEvent, type Watch, type WatchHandlers } from './store';

/** First and longest pause before re-opening a dropped stream. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

/** The key range watched and how its keys map back to store keys. */
export interface WatchRange {
  start: Buffer;
  end: Buffer;
  /** Store key of an etcd key in the range. */
  toKey(etcdKey: Buffer): string;
}

type WatchStream = Awaited<ReturnType<Etcd.WatchClient['watch']>>;

/** One watch: a stream of its own, re-opened from where it stopped until closed. */
export class EtcdWatch implements Watch {
  /** Revision to (re)start from; undefined until known when watching from "now". */
  private next?: number;
  private stream?: WatchStream;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: Etcd.WatchClient,
    private readonly range: WatchRange,
    private readonly handlers: WatchHandlers,
    fromRevision: number | undefined,
    private readonly endpoint: string,
  ) {
    this.next = fromRevision === undefined ? undefined : fromRevision + 1;
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    // end() first: etcd3 resets every connection of the host when a stream that is still writable
    // errors, and cancelling one that is not reports CANCELLED without that.
    this.stream?.end();
    this.stream?.cancel();
    this.stream = undefined;
  }

  private open(): void {
    this.client.watch().then((stream) => {
      if (this.closed) return void (stream.end(), stream.cancel());
      this.stream = stream;
      stream.on('data', (res: Etcd.IWatchResponse) => this.onResponse(res));
      stream.on('error', () => this.reopen(stream));
      stream.on('end', () => this.reopen(stream));
      const request: Etcd.IWatchCreateRequest = { key: this.range.start, range_end: this.range.end, progress_notify: true };
      if (this.next !== undefined) request.start_revision = String(this.next);
      stream.write({ create_request: request });
    }, () => this.reopen(undefined));
  }

  /** The stream broke (etcd restarting, network): open a new one from the resume point, with backoff. */
  private reopen(stream: WatchStream | undefined): void {
    if (this.closed || stream !== this.stream) return;
    this.stream = undefined;
    stream?.end();
    stream?.cancel();
    this.timer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private onResponse(res: Etcd.IWatchResponse): void {
    if (this.closed) return;
    this.retryMs = RETRY_MIN_MS;
    const header = Number(res.header.revision);
    if (Number(res.compact_revision) > 0) {
      return this.fail(new CompactedError((this.next ?? header + 1) - 1, Number(res.compact_revision)));
    }
    if (res.canceled) return this.fail(new InternalError(`cluster store ${this.endpoint}: watch canceled: ${res.cancel_reason || 'no reason given'}`));
    if (res.events.length === 0) {
      // A created response's header is only the resume point for a watch from "now"; a progress
      // notification's header is safe because etcd sends one only when the watch has caught up.
      if (!res.created || this.next === undefined) this.next = Math.max(this.next ?? 0, header + 1);
      return;
    }
    const events: StoreEvent[] = res.events.map((e) => ({
      key: this.range.toKey(e.kv.key),
      value: e.type === 'Delete' ? undefined : JSON.parse(e.kv.value.toString()),
      modRevision: Number(e.kv.mod_revision),
    }));
    const last = events[events.length - 1].modRevision;
    this.next = last + 1;
    try {
      this.handlers.onEvents(events, last);
    } catch (err) {
      // A throwing handler is a bug of its owner: surface it, keep the watch.
      setImmediate(() => { throw err; });
    }
  }

  private fail(err: Error): void {
    void this.close();
    this.handlers.onError?.(err);
  }
}
