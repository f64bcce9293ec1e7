/** The cluster as drivers' agents read it (drivers/driver's PeerSource): the cluster store's networks and endpoints. */
import type { PeerSource } from '../drivers/driver';
import type { Endpoint, Network } from '../model';
import { type Core, withInfo } from './core';
import { followPrefixes } from './follow';


/** Key of a host's record that it still has a device on an id of pool (an overlay VNI). */
export const deviceKey = (pool: string, id: number, host: string) => `devices/${pool}/${id}/${host}`;

/** The ids of pool some host still has a device on (allocation skips them), with the hosts. */
export async function idsWithDevices(t: { list<T>(prefix: string): Promise<{ key: string; value: T }[]> }, pool: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const e of await t.list(`devices/${pool}/`)) {
    const [id, host] = e.key.slice(`devices/${pool}/`.length).split('/');
    out.set(Number(id), [...(out.get(Number(id)) ?? []), host]);
  }
  return out;
}

/** See PeerSource; undefined without a cluster. */
export function peerSource(core: Core): PeerSource | undefined {
  const global = core.global;
  const cluster = core.cluster;
  if (!global || !cluster) return undefined;
  // What was last published and under which lease: a new lease (the old one expired) publishes again.
  let published = '';
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
    async publishDevices(pool, ids) {
      const lease = await cluster.lease();
      const mark = `${lease.id}:${pool}:${ids.join(',')}`;
      if (mark === published) return;
      const host = cluster.settings.host;
      await global.txn(async (t) => {
        const mine = (await t.list(`devices/${pool}/`)).filter((e) => e.key.endsWith(`/${host}`));
        for (const e of mine) if (!ids.includes(Number(e.key.split('/')[2]))) await t.delete(e.key);
        for (const id of ids) if (!mine.some((e) => e.key === deviceKey(pool, id, host))) await t.put(deviceKey(pool, id, host), { host }, { lease });
      });
      published = mark;
    },
  };
}
