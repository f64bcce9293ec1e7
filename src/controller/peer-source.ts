/** The cluster as drivers' agents read it (drivers/driver's PeerSource): the cluster store's networks and endpoints. */
import type { PeerSource } from '../drivers/driver';
import { log } from '../log';
import type { Endpoint, Network } from '../model';
import type { Watch } from '../store/store';
import { type Core, withInfo } from './core';

const debug = log('tsnet:controller:peers');

/** See PeerSource; undefined without a cluster. */
export function peerSource(core: Core): PeerSource | undefined {
  const global = core.global;
  const cluster = core.cluster;
  if (!global || !cluster) return undefined;
  return {
    self: cluster.settings.host,
    async snapshot() {
      const [networks, endpoints] = await Promise.all([global.list<Network>('network/'), global.list<Endpoint>('endpoint/')]);
      return { networks: networks.map((n) => withInfo(core, n.value)), endpoints: endpoints.map((e) => e.value) };
    },
    watch(onChange) {
      const watches: Watch[] = [];
      let closed = false;
      const follow = (prefix: string, from?: number): void => {
        if (closed) return;
        watches.push(global.watch(prefix, {
          onEvents: () => onChange(),
          onError: (err) => {
            // History compacted or the store unreachable: the agent re-reads everything, then follows from now.
            debug(`watch ${prefix} ended: ${err.message}`);
            onChange();
            setTimeout(() => follow(prefix), 1000).unref();
          },
        }, from));
      };
      for (const prefix of ['network/', 'endpoint/']) follow(prefix);
      return async () => {
        closed = true;
        await Promise.all(watches.map((w) => w.close()));
      };
    },
  };
}
