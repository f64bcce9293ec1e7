/**
 * After this host's lease expired (a partition longer than the TTL), everything it owned in the
 * cluster store is gone: its endpoints are published again from the host's own copy, each with its
 * address reserved anew. An address another host took meanwhile is never duplicated: that endpoint
 * is removed here and the failure is reported.
 */
import { log } from '../log';
import type { Endpoint, Network } from '../model';
import { keys, type Lease } from '../store/store';
import { type Core, findSandbox, mirrorKey, networkById } from './core';
import { removeEndpoint } from './endpoint';
import { splitCidr } from '../kernel/addr';

const debug = log('tsnet:controller:republish');

/** Re-publishes every endpoint of this host on cluster networks under lease; returns the ones that lost their address. */
export async function republishEndpoints(core: Core, lease: Lease): Promise<Endpoint[]> {
  const global = core.global;
  if (!global) return [];
  const lost: Endpoint[] = [];
  for (const { value: ep } of await core.local.list<Endpoint>('cluster-ep/')) {
    const net = await networkById(core, ep.networkId);
    if (!net) continue;
    const kept = await global.txn(async (t) => {
      for (const cidr of [ep.ipv4, ep.ipv6]) {
        if (!cidr) continue;
        const pool = net.ipam.find((p) => splitCidr(p.subnet).family === splitCidr(cidr).family);
        if (!pool) continue;
        try {
          await core.ipam.requestAddress(t, pool.poolId, { owner: ep.id, ifname: ep.ifname, preferred: splitCidr(cidr).ip, lease });
        } catch {
          return false;
        }
      }
      t.put(keys.endpoint(ep.networkId, ep.id), ep, { lease });
      return true;
    });
    if (kept) continue;
    lost.push(ep);
    process.stderr.write(`tsnet: endpoint ${ep.name} on network ${net.name}: address ${ep.ipv4 ?? ep.ipv6} was given to another host while this one was away; the endpoint is removed\n`);
    try {
      await removeEndpoint(core, net, await findSandbox(core.local, ep.sandboxId), { ...ep, ports: [] });
    } catch (err) {
      debug(`remove ${ep.id}: ${(err as Error).message}`);
      await core.local.txn(async (t) => void (await t.delete(mirrorKey(ep.networkId, ep.id))));
    }
  }
  return lost;
}
