/** The cluster as drivers' agents read it (drivers/driver's PeerSource): the cluster store's networks and endpoints. */
import type { PeerSource } from '../drivers/driver';
import type { Endpoint, Network } from '../model';
import { type Core, withInfo } from './core';
import { followPrefixes } from './follow';


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
      // History compacted or the store unreachable: the agent re-reads everything, then follows from now.
      return followPrefixes([global], ['network/', 'endpoint/'], onChange);
    },
  };
}
