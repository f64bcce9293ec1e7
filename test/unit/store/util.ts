/** Small waiting and collecting helpers for the store tests. */
import type { Store, StoreEvent, Watch } from '../../../src/store/store';

/** Polls cond every 20 ms until it holds; throws what() after ms. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await sleep(20);
  }
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A watch that keeps what it was given. */
export interface Collector {
  events: StoreEvent[];
  errors: Error[];
  /** The revision argument of every onEvents call, in order. */
  revisions: number[];
  watch: Watch;
}

/** Watches prefix from fromRevision, recording every event and error. */
export function collect(store: Store, prefix: string, fromRevision?: number): Collector {
  const c: Omit<Collector, 'watch'> = { events: [], errors: [], revisions: [] };
  const watch = store.watch(prefix, {
    onEvents: (events, revision) => { c.events.push(...events); c.revisions.push(revision); },
    onError: (err) => c.errors.push(err),
  }, fromRevision);
  return { ...c, watch };
}

/** Events as [key, value] pairs, for comparing sequences without revisions. */
export function pairs(events: StoreEvent[]): [string, unknown][] {
  return events.map((e) => [e.key, e.value]);
}
