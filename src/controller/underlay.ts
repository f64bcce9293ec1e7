/** Keeps the underlay guard (VXLAN accepted only from cluster members) fed from the cluster's member list. */
import type { PeerSource } from '../drivers/driver';
import { DEFAULT_DATA_PATH_PORT } from '../drivers/overlay';
import { UnderlayGuard } from '../firewall/underlay';
import { log } from '../log';
import { hostKey, type HostRecord } from './cluster';
import type { Core } from './core';

const debug = log('tsnet:controller:underlay');

/** Applies the guard now and after every membership change; close(leave) removes it when the host leaves. */
export function guardUnderlay(core: Core, source: PeerSource): { close(leave: boolean): Promise<void> } {
  const backend = core.firewall.backend;
  // "iptables": false: tsnet programs no rule, the guard included.
  if (backend === 'none') return { close: async () => undefined };
  const guard = new UnderlayGuard(backend);
  const port = core.config['data-path-port'] ?? DEFAULT_DATA_PATH_PORT;
  let last = '';
  let running: Promise<void> = Promise.resolve();
  const sync = () => {
    running = running.then(async () => {
      const members = (await core.global!.list<HostRecord>(hostKey(''))).map((e) => e.value.address).sort();
      // A lost store answer must not lock the data path: keep the last member list until one arrives.
      if (!members.length || members.join() === last) return;
      await guard.apply(port, members);
      last = members.join();
      debug(`VXLAN accepted from ${members.join(', ')}`);
    }).catch((err) => debug(`guard: ${(err as Error).message}`));
  };
  const stop = source.watch(sync);
  const timer = setInterval(sync, 5000);
  timer.unref();
  sync();
  return {
    async close(leave) {
      clearInterval(timer);
      await stop();
      await running;
      if (leave) await guard.remove(port).catch(() => undefined);
    },
  };
}
