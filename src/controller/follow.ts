/** Following key prefixes of the controller's stores, for the resident services that read the model (resolver, agents). */
import { log } from '../log';
import type { Store, Watch } from '../store/store';

const debug = log('tsnet:controller:follow');

/**
 * Calls onChange after every change under each prefix of each store. A watch that ends (history
 * compacted, store unreachable) triggers onChange — the reader re-reads everything — and is
 * started again from now a second later. Returns a stop function.
 */
export function followPrefixes(stores: Store[], prefixes: string[], onChange: () => void): () => Promise<void> {
  const watches: Watch[] = [];
  let closed = false;
  const follow = (store: Store, prefix: string): void => {
    if (closed) return;
    watches.push(store.watch(prefix, {
      onEvents: () => onChange(),
      onError: (err) => {
        debug(`watch ${prefix} on ${store.endpoint} ended: ${err.message}`);
        onChange();
        setTimeout(() => follow(store, prefix), 1000).unref();
      },
    }));
  };
  for (const store of stores) for (const prefix of prefixes) follow(store, prefix);
  return async () => {
    closed = true;
    await Promise.all(watches.map((w) => w.close()));
  };
}
