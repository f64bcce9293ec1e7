/**
 * The overlay agent (one per host, in the daemon): lists the cluster's overlay endpoints, follows
 * every change, and keeps each local VXLAN device's neighbour and FDB tables equal to the remote
 * endpoints of its subnet — a permanent entry each, added when an endpoint appears, removed when it
 * leaves or its host's lease expires. A periodic pass repairs drift (an entry deleted by hand).
 */
import { contains, splitCidr } from '../../kernel/addr';
import type { NetlinkHandle } from '../../kernel/netlink';
import { log } from '../../log';
import type { Endpoint, Network } from '../../model';
import type { DriverAgent, PeerSource } from '../driver';
import { overlayDevices } from './devices';

const debug = log('tsnet:drivers:overlay:agent');

/** What one reconcile pass changed. */
export interface AgentPass {
  added: number;
  removed: number;
}

/** The entries one VXLAN device should hold: ip → mac and mac → remote tunnel address. */
interface Wanted {
  neigh: Map<string, string>;
  fdb: Map<string, string>;
}

/** Desired tables per VXLAN device name, for every overlay subnet with a remote endpoint. */
function desired(self: string, networks: Network[], endpoints: Endpoint[]): Map<string, Wanted> {
  const byId = new Map(networks.filter((n) => n.driver === 'overlay').map((n) => [n.id, n]));
  const out = new Map<string, Wanted>();
  for (const ep of endpoints) {
    const net = byId.get(ep.networkId);
    if (!net || !ep.location || ep.location.host === self || !ep.ipv4 || !ep.mac) continue;
    const ip = splitCidr(ep.ipv4).ip;
    const i = net.ipam.findIndex((p) => splitCidr(p.subnet).family === 4 && contains(p.subnet, ip));
    const vni = net.ids?.[i];
    if (vni === undefined) continue;
    const dev = overlayDevices(vni).vxlan;
    const w = out.get(dev) ?? { neigh: new Map(), fdb: new Map() };
    w.neigh.set(ip, ep.mac.toLowerCase());
    w.fdb.set(ep.mac.toLowerCase(), ep.location.vtep);
    out.set(dev, w);
  }
  return out;
}

/** Makes one local VXLAN device's tables match wanted (devices of networks with no local endpoint do not exist and are skipped). */
async function programDevice(h: NetlinkHandle, index: number, wanted: Wanted): Promise<AgentPass> {
  const pass = { added: 0, removed: 0 };
  const neighs = (await h.listNeigh(index, 4)).filter((n) => n.state === 'permanent');
  const have = new Map(neighs.map((n) => [n.ip, n.mac]));
  for (const [ip, mac] of wanted.neigh) {
    if (have.get(ip) === mac) continue;
    await h.addNeigh(index, ip, mac, { permanent: true });
    pass.added++;
  }
  for (const n of neighs) {
    if (wanted.neigh.has(n.ip)) continue;
    await h.delNeigh(index, n.ip);
    pass.removed++;
  }
  const fdbs = (await h.listFdb(index)).filter((f) => f.dst && f.mac !== '00:00:00:00:00:00');
  const haveFdb = new Map(fdbs.map((f) => [f.mac, f.dst]));
  for (const [mac, dst] of wanted.fdb) {
    if (haveFdb.get(mac) === dst) continue;
    await h.addFdb(index, mac, dst, { permanent: true });
    pass.added++;
  }
  for (const f of fdbs) {
    if (wanted.fdb.get(f.mac) === f.dst) continue;
    await h.delFdb(index, f.mac, f.dst);
    pass.removed++;
  }
  return pass;
}

/** One pass over every local overlay device. */
export async function reconcilePeers(h: NetlinkHandle, source: PeerSource): Promise<AgentPass> {
  const { networks, endpoints } = await source.snapshot();
  const want = desired(source.self, networks, endpoints);
  const total = { added: 0, removed: 0 };
  for (const link of await h.listLinks()) {
    if (link.kind !== 'vxlan' || !/^vx\d+$/.test(link.name)) continue;
    const pass = await programDevice(h, link.index, want.get(link.name) ?? { neigh: new Map(), fdb: new Map() });
    total.added += pass.added;
    total.removed += pass.removed;
  }
  return total;
}

/** Runs the agent until close(): a pass after every change (coalesced) and every repairMs. */
export function startOverlayAgent(h: NetlinkHandle, source: PeerSource, repairMs = 2000): DriverAgent {
  let running: Promise<void> = Promise.resolve();
  let queued = false;
  let closed = false;
  const kick = (): Promise<void> => {
    if (queued) return running;
    queued = true;
    running = running.then(async () => {
      queued = false;
      if (closed) return;
      try {
        const pass = await reconcilePeers(h, source);
        if (pass.added || pass.removed) debug(`programmed +${pass.added} -${pass.removed}`);
      } catch (err) {
        debug(`pass failed: ${(err as Error).message}`);
      }
    });
    return running;
  };
  const stop = source.watch(() => void kick());
  const timer = setInterval(() => void kick(), repairMs);
  timer.unref();
  void kick();
  return {
    settle: () => kick(),
    async close() {
      closed = true;
      clearInterval(timer);
      await stop();
      await running;
    },
  };
}
