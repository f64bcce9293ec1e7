/**
 * NetlinkHandle: rtnetlink bound to one network namespace (netavark's Socket, libnetwork's nlHandle).
 * Each handle owns one synchronous NETLINK_ROUTE socket (rtnetlink/socket.ts): a call sends its
 * request and reads the answer before it returns, so calls on a handle never interleave, every
 * call has a timeout, and no native code calls back into JavaScript. Methods return promises for
 * the callers' sake; the kernel work is done by the time they return.
 */
import { InternalError, NotFoundError } from '../errors';
import { macToBuffer } from './addr';
import * as address from './rtnetlink/address';
import type { AddrInfo } from './rtnetlink/address';
import * as kinds from './rtnetlink/link-kinds';
import type { BridgePortOptions, IpvlanOptions, MacvlanOptions, VxlanOptions } from './rtnetlink/link-kinds';
import * as link from './rtnetlink/link';
import type { LinkInfo, LinkRef } from './rtnetlink/link';
import * as neigh from './rtnetlink/neigh';
import type { FdbInfo, NeighInfo } from './rtnetlink/neigh';
import type { Request } from './rtnetlink/nlmsg';
import * as route from './rtnetlink/route';
import type { RouteInfo, RouteSpec } from './rtnetlink/route';
import { switchedNetns } from './netns';
import { RtnlSocket } from './rtnetlink/socket';

export type { AddrInfo, BridgePortOptions, FdbInfo, IpvlanOptions, LinkInfo, MacvlanOptions, NeighInfo, RouteInfo, VxlanOptions };

/** Whether err is a NotFoundError (teardown treats "not found" as done). */
export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError;
}

/** rtnetlink operations in one namespace. */
export class NetlinkHandle {
  private constructor(private readonly sock: Pick<RtnlSocket, 'request' | 'dump' | 'close'>, readonly nsPath?: string) {}

  /** A handle in the namespace at nsPath, or in the process's own namespace when nsPath is undefined. */
  static open(nsPath?: string, opts: { timeoutMs?: number } = {}): NetlinkHandle {
    return new NetlinkHandle(RtnlSocket.open(nsPath, opts.timeoutMs), nsPath);
  }

  /**
   * A handle in the process's own namespace whose socket opens on first use: a read-only command
   * that never asks the kernel anything does not load the socket layer (koffi) at all.
   */
  static openLazy(opts: { timeoutMs?: number } = {}): NetlinkHandle {
    let sock: RtnlSocket | undefined;
    let closed = false;
    const get = (): RtnlSocket => {
      if (closed) throw new InternalError('netlink: socket used after close');
      // A socket keeps the namespace it is made in: never make the host's inside a switch.
      if (!sock && switchedNetns()) throw new InternalError('netlink: host socket first used inside a namespace switch');
      return (sock ??= RtnlSocket.open(undefined, opts.timeoutMs));
    };
    return new NetlinkHandle({
      request: (what, req) => get().request(what, req),
      dump: (what, req) => get().dump(what, req),
      close: () => { closed = true; sock?.close(); },
    });
  }

  /** Closes the socket; calls after it fail with an InternalError. */
  close(): void {
    this.sock.close();
  }

  /** Sends a request that answers with an ACK. */
  private async ack(what: string, req: Request): Promise<void> {
    this.sock.request(what, req);
  }

  /** Sends a delete: false when the object was not there. */
  private async remove(what: string, req: Request): Promise<boolean> {
    try {
      this.sock.request(what, req);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** The link with this name or index, or undefined. */
  async getLink(nameOrIndex: LinkRef): Promise<LinkInfo | undefined> {
    try {
      const [msg] = this.sock.request(`get link ${nameOrIndex}`, link.getLink(nameOrIndex));
      return msg ? link.decodeLink(msg.body) : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Like getLink, but a missing link is a NotFoundError. */
  async mustGetLink(nameOrIndex: LinkRef): Promise<LinkInfo> {
    const found = await this.getLink(nameOrIndex);
    if (!found) throw new NotFoundError(`link ${nameOrIndex}: does not exist`);
    return found;
  }

  /** Every link in the namespace. */
  async listLinks(): Promise<LinkInfo[]> {
    return this.sock.dump('list links', link.dumpLinks()).map((m) => link.decodeLink(m.body));
  }

  /** Creates a link and returns it as the kernel made it. */
  private async create(what: string, name: string, req: Request): Promise<LinkInfo> {
    this.sock.request(what, req);
    return this.mustGetLink(name);
  }

  /** Creates a bridge device (down). */
  async createBridge(name: string, opts: { mtu?: number; mac?: string } = {}): Promise<LinkInfo> {
    return this.create(`create bridge ${name}`, name, kinds.newBridge({ name, mtu: opts.mtu, mac: opts.mac ? macToBuffer(opts.mac) : undefined }));
  }

  /** Creates a veth pair; the peer is created straight into the namespace peerNetnsFd when given. */
  async createVeth(hostName: string, peerName: string, opts: { mtu?: number; peerNetnsFd?: number; peerMac?: string } = {}): Promise<LinkInfo> {
    const peer = { name: peerName, mtu: opts.mtu, mac: opts.peerMac ? macToBuffer(opts.peerMac) : undefined, netnsFd: opts.peerNetnsFd };
    return this.create(`create veth ${hostName}`, hostName, kinds.newVeth({ name: hostName, mtu: opts.mtu }, peer));
  }

  /** Creates a VXLAN device (down); learning is off unless asked for. */
  async createVxlan(name: string, o: VxlanOptions): Promise<LinkInfo> {
    return this.create(`create vxlan ${name}`, name, kinds.newVxlan({ name, mtu: o.mtu }, o));
  }

  /** Creates a macvlan on parentIndex; with netnsFd it is made straight in that namespace and undefined is returned. */
  async createMacvlan(name: string, parentIndex: number, o: MacvlanOptions): Promise<LinkInfo | undefined> {
    const common = { name, parent: parentIndex, mtu: o.mtu, mac: o.mac ? macToBuffer(o.mac) : undefined, netnsFd: o.netnsFd };
    const req = kinds.newMacvlan(common, o.mode);
    if (o.netnsFd === undefined) return this.create(`create macvlan ${name}`, name, req);
    this.sock.request(`create macvlan ${name}`, req);
    return undefined;
  }

  /** Creates an ipvlan on parentIndex; with netnsFd it is made straight in that namespace and undefined is returned. */
  async createIpvlan(name: string, parentIndex: number, o: IpvlanOptions): Promise<LinkInfo | undefined> {
    const req = kinds.newIpvlan({ name, parent: parentIndex, mtu: o.mtu, netnsFd: o.netnsFd }, o.mode, o.flag);
    if (o.netnsFd === undefined) return this.create(`create ipvlan ${name}`, name, req);
    this.sock.request(`create ipvlan ${name}`, req);
    return undefined;
  }

  /** Creates an 802.1Q vlan device vlanId on parentIndex (down). */
  async createVlan(name: string, parentIndex: number, vlanId: number, o: { mtu?: number } = {}): Promise<LinkInfo> {
    return this.create(`create vlan ${name}`, name, kinds.newVlan({ name, parent: parentIndex, mtu: o.mtu }, vlanId));
  }

  /** Creates a dummy device (down). */
  async createDummy(name: string, o: { mtu?: number } = {}): Promise<LinkInfo> {
    return this.create(`create dummy ${name}`, name, kinds.newDummy({ name, mtu: o.mtu }));
  }

  /** Sets the link administratively up. */
  async setUp(index: number): Promise<void> {
    return this.ack(`set link ${index} up`, link.setLinkUp(index, true));
  }

  /** Sets the link administratively down. */
  async setDown(index: number): Promise<void> {
    return this.ack(`set link ${index} down`, link.setLinkUp(index, false));
  }

  /** Enslaves the link to a bridge (masterIndex 0 releases it). */
  async setMaster(index: number, masterIndex: number): Promise<void> {
    return this.ack(`set master of link ${index}`, link.setLinkMaster(index, masterIndex));
  }

  /** Releases the link from its bridge. */
  async setNoMaster(index: number): Promise<void> {
    return this.ack(`release link ${index} from its master`, link.setLinkMaster(index, 0));
  }

  /** Moves the link into the namespace behind nsFd, renamed to newName there when given. */
  async setNetns(index: number, nsFd: number, newName?: string): Promise<void> {
    return this.ack(`move link ${index} to namespace${newName ? ` as ${newName}` : ''}`, link.setLinkNetns(index, nsFd, newName));
  }

  /** Renames a link (it must be down). */
  async rename(index: number, name: string): Promise<void> {
    return this.ack(`rename link ${index} to ${name}`, link.setLinkName(index, name));
  }

  /** Sets the MTU. */
  async setMtu(index: number, mtu: number): Promise<void> {
    return this.ack(`set mtu of link ${index}`, link.setLinkMtu(index, mtu));
  }

  /** Sets the hardware address. */
  async setMac(index: number, mac: string): Promise<void> {
    return this.ack(`set mac of link ${index}`, link.setLinkMac(index, macToBuffer(mac)));
  }

  /** Sets hairpin mode on a bridge port, so traffic can leave through the port it came in (published-port hairpin). */
  async setHairpin(index: number, on: boolean): Promise<void> {
    return this.ack(`set hairpin on link ${index}`, kinds.setBridgePort(index, { hairpin: on }));
  }

  /** Sets bridge port flags of an enslaved link (the overlay turns learning off and neighbour suppression on). */
  async setBridgePort(index: number, o: BridgePortOptions): Promise<void> {
    return this.ack(`set bridge port flags on link ${index}`, kinds.setBridgePort(index, o));
  }

  /** Deletes a link; returns false when it did not exist. */
  async deleteLink(nameOrIndex: LinkRef): Promise<boolean> {
    return this.remove(`delete link ${nameOrIndex}`, link.delLink(nameOrIndex));
  }

  /** Adds an address (CIDR) to a link; v6 addresses skip duplicate address detection, as netavark does. */
  async addAddr(index: number, cidr: string): Promise<void> {
    return this.ack(`add address ${cidr} to link ${index}`, address.newAddr(index, cidr));
  }

  /** Removes an address; returns false when it was not there. */
  async delAddr(index: number, cidr: string): Promise<boolean> {
    return this.remove(`delete address ${cidr}`, address.delAddr(index, cidr));
  }

  /** Addresses in the namespace, optionally of one link. */
  async listAddrs(index?: number): Promise<AddrInfo[]> {
    return this.sock.dump('list addresses', address.dumpAddrs(index))
      .map((m) => address.decodeAddr(m.body))
      .filter((a): a is AddrInfo => !!a && (index === undefined || a.index === index));
  }

  /** Adds a route to the main table: a default route when dst is undefined. */
  async addRoute(r: RouteSpec): Promise<void> {
    return this.ack(`add route ${r.dst ?? 'default'} via ${r.gateway ?? 'link'}`, route.newRoute(r));
  }

  /** Deletes a route; returns false when it was not there. */
  async delRoute(r: RouteSpec): Promise<boolean> {
    return this.remove(`delete route ${r.dst ?? 'default'}`, route.delRoute(r));
  }

  /** Unicast routes of the main table for one family. */
  async listRoutes(family: 4 | 6): Promise<RouteInfo[]> {
    return this.sock.dump('list routes', route.dumpRoutes(family))
      .map((m) => route.decodeRoute(m.body))
      .filter((r): r is RouteInfo => !!r);
  }

  /** Adds or replaces a neighbour entry (ARP/NDP) on a link, permanent unless told otherwise. */
  async addNeigh(index: number, ip: string, mac: string, o: { permanent?: boolean } = {}): Promise<void> {
    return this.ack(`add neighbour ${ip} on link ${index}`, neigh.newNeigh(index, ip, mac, o.permanent ?? true));
  }

  /** Deletes a neighbour entry; returns false when it was not there. */
  async delNeigh(index: number, ip: string): Promise<boolean> {
    return this.remove(`delete neighbour ${ip} on link ${index}`, neigh.delNeigh(index, ip));
  }

  /** Neighbour entries, optionally of one link and one family. */
  async listNeigh(index?: number, family?: 4 | 6): Promise<NeighInfo[]> {
    return this.sock.dump('list neighbours', neigh.dumpNeigh(index, family))
      .map((m) => neigh.decodeNeigh(m.body))
      .filter((n): n is NeighInfo => !!n && (index === undefined || n.index === index));
  }

  /** Adds or replaces a forwarding entry on a VXLAN device: mac is reached through the tunnel to dst. */
  async addFdb(index: number, mac: string, dst: string, o: { permanent?: boolean } = {}): Promise<void> {
    return this.ack(`add fdb ${mac} dst ${dst} on link ${index}`, neigh.newFdb(index, mac, dst, o.permanent ?? true));
  }

  /** Deletes a forwarding entry (only the one to dst when given); returns false when it was not there. */
  async delFdb(index: number, mac: string, dst?: string): Promise<boolean> {
    return this.remove(`delete fdb ${mac}${dst ? ` dst ${dst}` : ''} on link ${index}`, neigh.delFdb(index, mac, dst));
  }

  /** Forwarding entries (bridge and device tables), optionally of one port. */
  async listFdb(index?: number): Promise<FdbInfo[]> {
    return this.sock.dump('list fdb', neigh.dumpFdb(index))
      .map((m) => neigh.decodeFdb(m.body))
      .filter((f): f is FdbInfo => !!f && (index === undefined || f.index === index));
  }
}

/** Sets loopback up in the namespace at nsPath: 127.0.0.1 (and the resolver's 127.0.0.11) exist only then. */
export async function loopbackUp(nsPath: string): Promise<void> {
  const h = NetlinkHandle.open(nsPath);
  try {
    await h.setUp((await h.mustGetLink('lo')).index);
  } finally {
    h.close();
  }
}
