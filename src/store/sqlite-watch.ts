/**
 * Watches on the SQLite store: one poller per connection reads the history table for every watch.
 * Other processes' commits are noticed through PRAGMA data_version (it changes whenever another
 * connection commits; a cheap check before any query); this connection's own commits kick the
 * poller directly. Each watch remembers the revision it has delivered up to, so a poll that runs
 * late still delivers every change, in revision order.
 */
import type Database from 'better-sqlite3';
import { rangeEnd, type Statements } from './sqlite-schema';
import { CompactedError, type StoreEvent, type Watch, type WatchHandlers } from './store';

/** How often other processes' commits are looked for. */
const POLL_MS = 25;

interface Entry {
  lo: string;
  hi: string;
  /** Every change up to this revision has been delivered. */
  rev: number;
  handlers: WatchHandlers;
}

/** What one poll found for one watch. */
type Outcome = { entry: Entry; events: StoreEvent[] } | { entry: Entry; compacted: number };

/** The watches of one SQLite connection and the timer that feeds them. */
export class SqliteWatches {
  private readonly entries = new Set<Entry>();
  private timer?: NodeJS.Timeout;
  private dataVersion = -1;
  private kicked = false;

  constructor(private readonly db: Database.Database, private readonly s: Statements) {}

  /** Starts a watch of prefix from fromRevision (default: now). */
  add(prefix: string, handlers: WatchHandlers, fromRevision?: number): Watch {
    const entry: Entry = { lo: prefix, hi: rangeEnd(prefix), rev: fromRevision ?? this.s.meta.get('rev')!.value, handlers };
    this.entries.add(entry);
    this.timer ??= setInterval(() => this.tick(), POLL_MS).unref();
    // History older than now may already hold events for this watch: look at once.
    this.kick();
    return { close: async () => this.remove(entry) };
  }

  /** A commit on this connection: deliver soon, without waiting for the timer. */
  kick(): void {
    if (this.kicked || this.entries.size === 0) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      if (this.db.open) this.poll();
    });
  }

  /** Stops every watch (the store is closing). */
  stop(): void {
    this.entries.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry);
    if (this.entries.size === 0) this.stop();
  }

  private tick(): void {
    const dv = this.db.pragma('data_version', { simple: true }) as number;
    if (dv === this.dataVersion) return;
    this.dataVersion = dv;
    this.poll();
  }

  /** Reads every watch's changes in one read transaction, then delivers outside it. */
  private poll(): void {
    const { rev, outcomes } = this.db.transaction(() => {
      const rev = this.s.meta.get('rev')!.value;
      const compacted = this.s.meta.get('compacted')!.value;
      const outcomes: Outcome[] = [];
      for (const entry of this.entries) {
        if (entry.rev >= rev) continue;
        // Revision `compacted` itself is kept: a watch needs history from entry.rev + 1.
        if (entry.rev + 1 < compacted) {
          outcomes.push({ entry, compacted });
          continue;
        }
        const rows = this.s.changes.all(entry.rev, rev, entry.lo, entry.hi);
        outcomes.push({ entry, events: rows.map((r) => ({ key: r.key, value: r.value === null ? undefined : JSON.parse(r.value), modRevision: r.rev })) });
      }
      return { rev, outcomes };
    })();
    for (const o of outcomes) this.deliver(o, rev);
  }

  private deliver(o: Outcome, rev: number): void {
    if (!this.entries.has(o.entry)) return; // closed by an earlier handler of this poll
    try {
      if ('compacted' in o) {
        this.remove(o.entry);
        o.entry.handlers.onError?.(new CompactedError(o.entry.rev, o.compacted));
        return;
      }
      o.entry.rev = rev;
      if (o.events.length) o.entry.handlers.onEvents(o.events, rev);
    } catch (err) {
      // A throwing handler must not starve the other watches: surface it as an uncaught error.
      setImmediate(() => { throw err; });
    }
  }
}
