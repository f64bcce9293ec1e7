/**
 * The overlay driver: a network shared by every host of the cluster (state in the cluster store),
 * carried over VXLAN. A host builds the data path of a network only while it has an endpoint on it
 * (its own namespace with a bridge and a VXLAN device per subnet, learning off, ARP proxy on: see
 * devices.ts); the overlay agent programs
 * a permanent neighbour and FDB entry per remote endpoint, so nothing relies on flooding. Sandboxes
 * reach the outside through the per-host gateway bridge (NetworkInfo.egress).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../../errors';
import { contains, macFromIpv4, splitCidr } from '../../kernel/addr';
import { withFileLock } from '../../kernel/lock';
import { loopbackUp, NetlinkHandle } from '../../kernel/netlink';
import { createNetns, deleteNetns, openNetnsFd } from '../../kernel/netns';
import { log } from '../../log';
import type { DriverData, Endpoint, Network, NetworkInfo } from '../../model';
import type { DriverAgent, DriverCapabilities, DriverContext, EndpointInterface, JoinInfo, JoinOptions, NetworkDriver, PeerSource, SandboxHandle } from '../driver';
import { addRoutes } from '../routes';
import { attachVeth, hostVethName } from '../veth';
import { startOverlayAgent } from './agent';
import { overlayDevices, overlayNetns } from './devices';
import { overlayInfo } from './options';

const debug = log('tsnet:drivers:overlay');

/** UDP port of the VXLAN data path (IANA's 4789, as Docker's default). */
export const DEFAULT_DATA_PATH_PORT = 4789;
/** VXLAN's encapsulation overhead on an IPv4 underlay (outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14). */
const VXLAN_OVERHEAD = 50;
/** Serialises building and tearing down a host's overlay devices between processes. */
const DEVICE_LOCK = path.join('/run/tsnet', 'overlay.lock');


/** The VNI serving the subnet that holds ip. */
export function vniFor(net: Network, ip: string): number {
  const i = net.ipam.findIndex((p) => contains(p.subnet, ip));
  const vni = i >= 0 ? net.ids?.[i] : undefined;
  if (vni === undefined) throw new NotFoundError(`network ${net.name}: no subnet holds ${ip}`);
  return vni;
}

/** The overlay driver. */
export class OverlayDriver implements NetworkDriver {
  readonly name = 'overlay';
  readonly capabilities: DriverCapabilities = { scope: 'global', needsIpam: true, dns: true, sandboxMode: 'own' };

  constructor(private readonly ctx: DriverContext) {}

  validateNetwork(net: Network): NetworkInfo {
    if (net.ipv6) throw new UnsupportedError('overlay networks are IPv4-only in tsnet: drop --ipv6');
    return overlayInfo(net);
  }

  /** Nothing on the kernel: a host builds the data path when its first endpoint joins. */
  async createNetwork(): Promise<DriverData> {
    return {};
  }

  /** Nothing left to remove: the devices leave with each host's last endpoint. */
  async deleteNetwork(): Promise<void> {}

  /** The host's tunnel address and the MTU inside the overlay (underlay MTU − 50 unless set). */
  private async underlay(net: Network): Promise<{ local: string; mtu: number; link?: number }> {
    const local = this.ctx.cluster?.advertise;
    if (!local) throw new UnsupportedError(`network ${net.name}: overlay networks need this host in a cluster (cluster-store and cluster-advertise in daemon.json)`);
    const h = this.ctx.host;
    const addr = (await h.listAddrs()).find((a) => splitCidr(a.cidr).ip === local);
    if (!addr) throw new InvalidArgumentError(`cluster-advertise ${local}: no interface of this host has that address`);
    const link = await h.mustGetLink(addr.index);
    return { local, mtu: net.info.mtu ?? link.mtu - VXLAN_OVERHEAD, link: link.index };
  }

  /**
   * Makes the network's namespace and the subnet's bridge and VXLAN device in it if missing (another
   * process may be making them too); returns a handle in the namespace, which the caller closes.
   */
  private async ensureDevices(net: Network, vni: number): Promise<{ ns: NetlinkHandle; bridgeIndex: number }> {
    const nsPath = overlayNetns(net.id);
    if (!fs.existsSync(nsPath)) {
      createNetns(nsPath);
      await loopbackUp(nsPath);
    }
    const ns = NetlinkHandle.open(nsPath);
    try {
      const names = overlayDevices(vni);
      const existing = await ns.getLink(names.bridge);
      if (existing && (await ns.getLink(names.vxlan))) return { ns, bridgeIndex: existing.index };
      const u = await this.underlay(net);
      const port = this.ctx.config['data-path-port'] ?? DEFAULT_DATA_PATH_PORT;
      const bridge = existing ?? (await ns.createBridge(names.bridge, { mtu: u.mtu }));
      let vxlan = await ns.getLink(names.vxlan);
      if (!vxlan) {
        // Born in the host namespace so its UDP socket listens on the underlay, then moved in.
        const h = this.ctx.host;
        const made = await h.createVxlan(names.vxlan, { vni, local: u.local, port, learning: false, proxy: true, mtu: u.mtu, link: u.link });
        const fd = openNetnsFd(nsPath);
        try {
          await h.setNetns(made.index, fd);
        } catch (err) {
          await h.deleteLink(made.index).catch(() => undefined);
          throw err;
        } finally {
          fs.closeSync(fd);
        }
        vxlan = await ns.mustGetLink(names.vxlan);
      }
      await ns.setMaster(vxlan.index, bridge.index);
      // Remote MACs come from the agent's static entries, never from what the bridge sees.
      await ns.setBridgePort(vxlan.index, { learning: false });
      await ns.setUp(vxlan.index);
      await ns.setUp(bridge.index);
      debug(`network ${net.name}: data path for VNI ${vni} up (${names.bridge}, ${names.vxlan} in ${nsPath})`);
      return { ns, bridgeIndex: bridge.index };
    } catch (err) {
      ns.close();
      throw err;
    }
  }

  async createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface> {
    if (!ep.ipv4) throw new InvalidArgumentError(`network ${net.name}: an overlay endpoint needs an IPv4 address`);
    const ip = splitCidr(ep.ipv4).ip;
    const vni = vniFor(net, ip);
    const mac = ep.mac ?? macFromIpv4(ip);
    const hostVeth = hostVethName(ep);
    await this.locked(async () => {
      const { ns, bridgeIndex } = await this.ensureDevices(net, vni);
      try {
        const bridge = await ns.mustGetLink(bridgeIndex);
        // The host end is born in the network's namespace, the peer in the sandbox's.
        await attachVeth(ns, { hostVeth, ifname: ep.ifname, bridgeIndex, mtu: bridge.mtu, nsFd: sandbox.nsFd, mac });
      } catch (err) {
        await removeIfUnused(ns, net, vni).catch(() => undefined);
        throw err;
      } finally {
        ns.close();
      }
    });
    return { hostVeth, mac };
  }

  async join(net: Network, ep: Endpoint, sandbox: SandboxHandle, opts: JoinOptions): Promise<JoinInfo> {
    const s = sandbox.netlink;
    const link = await s.mustGetLink(ep.ifname);
    if (ep.ipv4) await s.addAddr(link.index, ep.ipv4);
    await s.setUp(link.index);
    // No default route here: the way out is the gateway bridge (NetworkInfo.defaultRoute is false).
    await addRoutes(s, link.index, ep, { internal: true, ...opts, defaultRoute: false, defaultRoute6: false });
    return { ifname: ep.ifname };
  }

  async leave(_net: Network, ep: Endpoint, sandbox: SandboxHandle | undefined): Promise<void> {
    if (sandbox) await sandbox.netlink.deleteLink(ep.ifname);
  }

  /** Removes the host end; the subnet's devices go with the host's last endpoint on it, the namespace with the last subnet. */
  async deleteEndpoint(net: Network, ep: Endpoint): Promise<void> {
    const nsPath = overlayNetns(net.id);
    await this.locked(async () => {
      if (!fs.existsSync(nsPath)) return;
      const ns = NetlinkHandle.open(nsPath);
      try {
        await ns.deleteLink(hostVethName(ep));
        if (ep.ipv4) await removeIfUnused(ns, net, vniFor(net, splitCidr(ep.ipv4).ip));
      } finally {
        ns.close();
      }
    });
  }

  async isLive(): Promise<boolean> {
    return true;
  }

  startAgent(source: PeerSource): DriverAgent {
    return startOverlayAgent(source, (fn) => this.locked(fn));
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    fs.mkdirSync(path.dirname(DEVICE_LOCK), { recursive: true });
    return withFileLock(DEVICE_LOCK, fn);
  }
}

/**
 * Removes the subnet's bridge and VXLAN device when no endpoint port is left on the bridge, and the
 * network's namespace when no subnet is left in it.
 */
async function removeIfUnused(ns: NetlinkHandle, net: Network, vni: number): Promise<void> {
  const names = overlayDevices(vni);
  const links = await ns.listLinks();
  const bridge = links.find((l) => l.name === names.bridge);
  if (bridge && links.some((l) => l.master === bridge.index && l.kind !== 'vxlan')) return;
  await ns.deleteLink(names.vxlan);
  await ns.deleteLink(names.bridge);
  debug(`network ${net.name}: last local endpoint on VNI ${vni} gone, its devices removed`);
  if (!(await ns.listLinks()).some((l) => l.kind === 'bridge' || l.kind === 'vxlan')) deleteNetns(overlayNetns(net.id));
}

/** An overlay driver for one controller. */
export const overlayDriver = (ctx: DriverContext): NetworkDriver => new OverlayDriver(ctx);
