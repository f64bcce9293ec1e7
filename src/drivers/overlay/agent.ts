/**
 * The overlay agent (one per host, in the daemon): lists the cluster's overlay endpoints, follows
 * every change, and keeps each local VXLAN device's neighbour and FDB tables equal to the remote
 * endpoints of its subnet — a permanent entry each, added when an endpoint appears, removed when it
 * leaves or its host's lease expires. A periodic pass repairs drift (an entry deleted by hand),
 * removes the namespace of a network that no longer exists (a crash between an endpoint's record
 * and its devices, a host that was away while the network was removed), and tells the cluster
 * which VNIs this host still has devices on, so none is handed to a new network meanwhile.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contains, splitCidr } from '../../kernel/addr';
import { NetlinkHandle } from '../../kernel/netlink';
import { deleteNetns } from '../../kernel/netns';
import { log } from '../../log';
import type { Endpoint, Network } from '../../model';
import type { DriverAgent, PeerSource } from '../driver';
import { OVERLAY_NETNS_PREFIX, overlayNetns, vniOfDevice } from './devices';
import { VNI_POOL } from './options';

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

/** Key of one subnet's VXLAN device: its network and VNI. */
const deviceKey = (netId: string, vni: number) => `${netId}/${vni}`;

/** Desired tables per VXLAN device (deviceKey), for every overlay subnet with a remote endpoint. */
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
    const dev = deviceKey(net.id, vni);
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

/** What one pass changed, and the VNIs this host has devices on. */
export interface AgentResult extends AgentPass {
  vnis: number[];
  /** Namespaces of networks that no longer exist, removed. */
  collected: number;
}

/** The overlay namespaces on this host, by the network id prefix in their name. */
function overlayNamespaces(): Map<string, string> {
  const dir = path.dirname(overlayNetns('x'));
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return new Map();
  }
  return new Map(names.filter((n) => n.startsWith(OVERLAY_NETNS_PREFIX)).map((n) => [n.slice(OVERLAY_NETNS_PREFIX.length), path.join(dir, n)]));
}

/** Removes the data path of a network that is gone: its devices, then its namespace. */
async function collect(nsPath: string): Promise<void> {
  const ns = NetlinkHandle.open(nsPath);
  try {
    for (const l of await ns.listLinks()) if (l.kind === 'vxlan' || l.kind === 'bridge' || l.kind === 'veth') await ns.deleteLink(l.index);
  } finally {
    ns.close();
  }
  deleteNetns(nsPath);
}

/**
 * One pass over every local overlay device. locked runs work under the driver's device lock; the
 * list of networks is read again under it before a namespace is collected, so a network created
 * after the snapshot (its namespace just made) is never mistaken for a removed one.
 */
export async function reconcilePeers(source: PeerSource, locked: <T>(fn: () => Promise<T>) => Promise<T>): Promise<AgentResult> {
  const { networks, endpoints } = await source.snapshot();
  const want = desired(source.self, networks, endpoints);
  const byPrefix = new Map(networks.filter((n) => n.driver === 'overlay').map((n) => [n.id.slice(0, 12), n]));
  const total: AgentResult = { added: 0, removed: 0, vnis: [], collected: 0 };
  const orphans: string[] = [];
  for (const [prefix, nsPath] of overlayNamespaces()) {
    const net = byPrefix.get(prefix);
    if (!net) {
      orphans.push(prefix);
      continue;
    }
    let ns: NetlinkHandle;
    try {
      ns = NetlinkHandle.open(nsPath);
    } catch {
      continue; // removed with its last endpoint meanwhile
    }
    try {
      for (const link of await ns.listLinks()) {
        const vni = link.kind === 'vxlan' ? vniOfDevice(link.name) : undefined;
        if (vni === undefined) continue;
        total.vnis.push(vni);
        const pass = await programDevice(ns, link.index, want.get(deviceKey(net.id, vni)) ?? { neigh: new Map(), fdb: new Map() });
        total.added += pass.added;
        total.removed += pass.removed;
      }
    } finally {
      ns.close();
    }
  }
  if (orphans.length) {
    await locked(async () => {
      const live = new Set((await source.snapshot()).networks.map((n) => n.id.slice(0, 12)));
      const now = overlayNamespaces();
      for (const prefix of orphans) {
        const nsPath = now.get(prefix);
        if (!nsPath || live.has(prefix)) continue;
        await collect(nsPath);
        total.collected++;
        debug(`collected ${nsPath}: its network no longer exists`);
      }
    });
  }
  // A namespace kept for a network that still exists keeps its VNIs reserved; a collected one frees them.
  await source.publishDevices(VNI_POOL, total.vnis.sort((a, b) => a - b));
  return total;
}

/** Runs the agent until close(): a pass after every change (coalesced) and every repairMs. */
export function startOverlayAgent(source: PeerSource, locked: <T>(fn: () => Promise<T>) => Promise<T>, repairMs = 2000): DriverAgent {
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
        const pass = await reconcilePeers(source, locked);
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
