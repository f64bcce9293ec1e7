/**
 * NetlinkHandle: rtnetlink bound to one network namespace (netavark's Socket, libnetwork's nlHandle).
 * A netlink socket keeps the namespace it was created in, so the handle switches only to open it.
 */
import { createRtNetlink, FlagsNew, type RtNetlinkSocket, type rt } from 'netlink';
import { ConflictError, InternalError, NotFoundError, TsnetError } from '../errors';
import { bufferToIp, bufferToMac, ipToBuffer, macToBuffer, splitCidr } from './addr';
import { withNetns } from './netns';

/** A link as tsnet cares about it. */
export interface LinkInfo {
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  mac?: string;
  master?: number;
  up: boolean;
}

/** An address on a link. */
export interface AddrInfo {
  index: number;
  cidr: string;
  family: 4 | 6;
}

/** A route in the main table. */
export interface RouteInfo {
  dst?: string;
  gateway?: string;
  oif?: number;
  family: 4 | 6;
}

/** Settings of a VXLAN device. */
export interface VxlanOptions {
  vni: number;
  local?: string;
  port?: number;
  learning?: boolean;
  mtu?: number;
  /** Underlay device index. */
  link?: number;
}

const CREATE = FlagsNew.CREATE | FlagsNew.EXCL;
const AF_INET = 2, AF_INET6 = 10, AF_BRIDGE = 7;
const RT_TABLE_MAIN = 254;
// IFLA_LINKINFO nesting: IFLA_INFO_KIND=1, IFLA_INFO_DATA=2; VETH_INFO_PEER=1; IFLA_IFNAME=3, IFLA_MTU=4, IFLA_ADDRESS=1, IFLA_NET_NS_FD=28.
const INFO_KIND = 1, INFO_DATA = 2, VETH_INFO_PEER = 1;
const IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_NET_NS_FD = 28;
const RTM_SETLINK = 19, IFLA_PROTINFO = 12, NLA_F_NESTED = 0x8000, IFLA_BRPORT_MODE = 4;

/** One netlink attribute, padded to 4 bytes. */
function nla(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const buf = Buffer.alloc((len + 3) & ~3);
  buf.writeUInt16LE(len, 0);
  buf.writeUInt16LE(type, 2);
  payload.copy(buf, 4);
  return buf;
}
const nlaStr = (type: number, s: string) => nla(type, Buffer.from(s + '\0'));
const nlaU32 = (type: number, n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return nla(type, b); };
const nlaU16 = (type: number, n: number, be = false) => { const b = Buffer.alloc(2); be ? b.writeUInt16BE(n) : b.writeUInt16LE(n); return nla(type, b); };
const nlaU8 = (type: number, n: number) => nla(type, Buffer.from([n]));

/** The IFLA_INFO_KIND inside a raw IFLA_LINKINFO. */
function kindOf(linkinfo?: Buffer): string | undefined {
  for (let off = 0; linkinfo && off + 4 <= linkinfo.length; ) {
    const len = linkinfo.readUInt16LE(off), type = linkinfo.readUInt16LE(off + 2);
    if (len < 4) break;
    if (type === INFO_KIND) return linkinfo.subarray(off + 4, off + len).toString().replace(/\0+$/, '');
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** Maps a netlink rejection to a typed error naming what was being done. */
function wrap(what: string, err: unknown): TsnetError {
  if (err instanceof TsnetError) return err;
  const code = /rejected: (\w+)/.exec((err as Error)?.message ?? '')?.[1] ?? 'EIO';
  const msg = `${what}: ${code}`;
  if (code === 'EEXIST' || code === 'EADDRINUSE' || code === 'EBUSY') return new ConflictError(msg, { cause: err });
  if (code === 'ENODEV' || code === 'ENOENT' || code === 'ESRCH' || code === 'EADDRNOTAVAIL') return new NotFoundError(msg, { cause: err });
  return new InternalError(msg, { cause: err });
}

/** Whether err is a NotFoundError (teardown treats "not found" as done). */
export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError;
}

/** rtnetlink operations in one namespace. */
export class NetlinkHandle {
  private constructor(private readonly sock: RtNetlinkSocket, readonly nsPath?: string) {}

  /** A handle in the namespace at nsPath, or in the process's own namespace when nsPath is undefined. */
  static open(nsPath?: string): NetlinkHandle {
    const sock = nsPath ? withNetns(nsPath, () => createRtNetlink()) : createRtNetlink();
    return new NetlinkHandle(sock, nsPath);
  }

  /** Closes the socket. */
  close(): void {
    this.sock.socket.close();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrap(what, err);
    }
  }

  /** The link with this name or index, or undefined. */
  async getLink(nameOrIndex: string | number): Promise<LinkInfo | undefined> {
    const [data, attrs] = typeof nameOrIndex === 'number' ? [{ index: nameOrIndex }, {}] : [{}, { ifname: nameOrIndex }];
    try {
      const [msg] = await this.sock.getLink(data, attrs);
      return msg ? toLinkInfo(msg) : undefined;
    } catch (err) {
      const e = wrap(`get link ${nameOrIndex}`, err);
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Like getLink, but a missing link is a NotFoundError. */
  async mustGetLink(nameOrIndex: string | number): Promise<LinkInfo> {
    const link = await this.getLink(nameOrIndex);
    if (!link) throw new NotFoundError(`link ${nameOrIndex}: does not exist`);
    return link;
  }

  /** Every link in the namespace. */
  async listLinks(): Promise<LinkInfo[]> {
    return this.call('list links', async () => (await this.sock.getLinks()).map(toLinkInfo));
  }

  /** Creates a bridge device (down). */
  async createBridge(name: string, opts: { mtu?: number; mac?: string } = {}): Promise<LinkInfo> {
    await this.call(`create bridge ${name}`, () =>
      this.sock.newLink({}, { ifname: name, mtu: opts.mtu, address: opts.mac ? macToBuffer(opts.mac) : undefined, linkinfo: nlaStr(INFO_KIND, 'bridge') }, { flags: CREATE }));
    return this.mustGetLink(name);
  }

  /** Creates a veth pair; the peer is created straight into the namespace peerNetnsFd when given. */
  async createVeth(hostName: string, peerName: string, opts: { mtu?: number; peerNetnsFd?: number; peerMac?: string } = {}): Promise<LinkInfo> {
    const peerAttrs = [nlaStr(IFLA_IFNAME, peerName)];
    if (opts.mtu) peerAttrs.push(nlaU32(IFLA_MTU, opts.mtu));
    if (opts.peerMac) peerAttrs.push(nla(IFLA_ADDRESS, macToBuffer(opts.peerMac)));
    if (opts.peerNetnsFd !== undefined) peerAttrs.push(nlaU32(IFLA_NET_NS_FD, opts.peerNetnsFd));
    // VETH_INFO_PEER carries a struct ifinfomsg (16 zero bytes) followed by the peer's attributes.
    const peer = nla(VETH_INFO_PEER, Buffer.concat([Buffer.alloc(16), ...peerAttrs]));
    const linkinfo = Buffer.concat([nlaStr(INFO_KIND, 'veth'), nla(INFO_DATA, peer)]);
    await this.call(`create veth ${hostName}`, () => this.sock.newLink({}, { ifname: hostName, mtu: opts.mtu, linkinfo }, { flags: CREATE }));
    return this.mustGetLink(hostName);
  }

  /** Creates a VXLAN device (down). */
  async createVxlan(name: string, o: VxlanOptions): Promise<LinkInfo> {
    // IFLA_VXLAN_ID=1, LINK=3, LOCAL=4, LEARNING=7, PORT=15 (big endian), LOCAL6=17.
    const data = [nlaU32(1, o.vni), nlaU8(7, o.learning ? 1 : 0), nlaU16(15, o.port ?? 4789, true)];
    if (o.link) data.push(nlaU32(3, o.link));
    if (o.local) data.push(nla(splitCidr(o.local).family === 4 ? 4 : 17, ipToBuffer(o.local)));
    const linkinfo = Buffer.concat([nlaStr(INFO_KIND, 'vxlan'), nla(INFO_DATA, Buffer.concat(data))]);
    await this.call(`create vxlan ${name}`, () => this.sock.newLink({}, { ifname: name, mtu: o.mtu, linkinfo }, { flags: CREATE }));
    return this.mustGetLink(name);
  }

  private async setLink(what: string, index: number, data: rt.Link, attrs: Parameters<RtNetlinkSocket['setLink']>[1]): Promise<void> {
    await this.call(what, () => this.sock.setLink({ index, ...data }, attrs));
  }

  /** Sets the link administratively up. */
  setUp(index: number): Promise<void> {
    return this.setLink(`set link ${index} up`, index, { flags: { up: true }, change: { up: true } }, {});
  }

  /** Sets the link administratively down. */
  setDown(index: number): Promise<void> {
    return this.setLink(`set link ${index} down`, index, { flags: {}, change: { up: true } }, {});
  }

  /** Enslaves the link to a bridge (masterIndex 0 releases it). */
  setMaster(index: number, masterIndex: number): Promise<void> {
    return this.setLink(`set master of link ${index}`, index, {}, { master: masterIndex });
  }

  /** Moves the link into the namespace behind nsFd. */
  setNetns(index: number, nsFd: number): Promise<void> {
    return this.setLink(`move link ${index} to namespace`, index, {}, { netNsFd: nsFd });
  }

  /** Renames a link (it must be down). */
  rename(index: number, name: string): Promise<void> {
    return this.setLink(`rename link ${index} to ${name}`, index, {}, { ifname: name });
  }

  /** Sets the MTU. */
  setMtu(index: number, mtu: number): Promise<void> {
    return this.setLink(`set mtu of link ${index}`, index, {}, { mtu });
  }

  /** Sets the hardware address. */
  setMac(index: number, mac: string): Promise<void> {
    return this.setLink(`set mac of link ${index}`, index, {}, { address: macToBuffer(mac) });
  }

  /** Sets hairpin mode on a bridge port, so traffic can leave through the port it came in (published-port hairpin). */
  async setHairpin(index: number, on: boolean): Promise<void> {
    // RTM_SETLINK for AF_BRIDGE with IFLA_PROTINFO nested (NLA_F_NESTED is required) holding IFLA_BRPORT_MODE.
    const ifinfo = Buffer.alloc(16);
    ifinfo.writeUInt8(AF_BRIDGE, 0);
    ifinfo.writeInt32LE(index, 4);
    const msg = Buffer.concat([ifinfo, nla(IFLA_PROTINFO | NLA_F_NESTED, nlaU8(IFLA_BRPORT_MODE, on ? 1 : 0))]);
    await this.call(`set hairpin on link ${index}`, () => this.sock.request(RTM_SETLINK, msg));
  }

  /** Deletes a link; returns false when it did not exist. */
  async deleteLink(nameOrIndex: string | number): Promise<boolean> {
    const [data, attrs] = typeof nameOrIndex === 'number' ? [{ index: nameOrIndex }, {}] : [{}, { ifname: nameOrIndex }];
    try {
      await this.sock.delLink(data, attrs);
      return true;
    } catch (err) {
      const e = wrap(`delete link ${nameOrIndex}`, err);
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Adds an address (CIDR) to a link; v6 addresses skip duplicate address detection, as netavark does. */
  async addAddr(index: number, cidr: string): Promise<void> {
    const { ip, prefix, family } = splitCidr(cidr);
    const bytes = ipToBuffer(ip);
    await this.call(`add address ${cidr} to link ${index}`, () =>
      this.sock.newAddress(
        { family: family === 4 ? AF_INET : AF_INET6, prefixlen: prefix, index, flags: family === 6 ? { nodad: true } : {} },
        family === 4 ? { local: bytes, address: bytes } : { address: bytes },
        { flags: CREATE },
      ));
  }

  /** Removes an address; returns false when it was not there. */
  async delAddr(index: number, cidr: string): Promise<boolean> {
    const { ip, prefix, family } = splitCidr(cidr);
    const bytes = ipToBuffer(ip);
    try {
      await this.sock.delAddress({ family: family === 4 ? AF_INET : AF_INET6, prefixlen: prefix, index }, family === 4 ? { local: bytes, address: bytes } : { address: bytes });
      return true;
    } catch (err) {
      const e = wrap(`delete address ${cidr}`, err);
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Addresses in the namespace, optionally of one link. */
  async listAddrs(index?: number): Promise<AddrInfo[]> {
    const msgs = await this.call('list addresses', () => this.sock.getAddresses());
    return msgs
      .filter((m) => index === undefined || m.data.index === index)
      .map((m) => {
        const bytes = m.attrs.local ?? m.attrs.address!;
        return { index: m.data.index!, cidr: `${bufferToIp(bytes)}/${m.data.prefixlen}`, family: bytes.length === 4 ? 4 : 6 } as AddrInfo;
      });
  }

  /** Adds a route to the main table: a default route when dst is undefined. */
  async addRoute(r: { dst?: string; gateway?: string; oif?: number; metric?: number }): Promise<void> {
    await this.call(`add route ${r.dst ?? 'default'} via ${r.gateway ?? 'link'}`, () => this.sock.newRoute(...routeMsg(r), { flags: CREATE }));
  }

  /** Deletes a route; returns false when it was not there. */
  async delRoute(r: { dst?: string; gateway?: string; oif?: number; metric?: number }): Promise<boolean> {
    try {
      await this.sock.delRoute(...routeMsg(r));
      return true;
    } catch (err) {
      const e = wrap(`delete route ${r.dst ?? 'default'}`, err);
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Routes of the main table for one family. */
  async listRoutes(family: 4 | 6): Promise<RouteInfo[]> {
    const msgs = await this.call('list routes', () => this.sock.getRoutes({ family: family === 4 ? AF_INET : AF_INET6 }));
    return msgs
      .filter((m) => (m.attrs.table ?? m.data.table) === RT_TABLE_MAIN && isUnicast(m.data.type))
      .map((m) => ({
        family,
        dst: m.attrs.dst ? `${bufferToIp(m.attrs.dst)}/${m.data.dstLen}` : undefined,
        gateway: m.attrs.gateway ? bufferToIp(m.attrs.gateway) : undefined,
        oif: m.attrs.oif,
      }));
  }

  /** Adds or replaces a permanent neighbour entry (ARP/NDP) on a link. */
  async addNeigh(index: number, ip: string, mac: string): Promise<void> {
    const fam = splitCidr(ip).family;
    await this.call(`add neighbour ${ip}`, () =>
      this.sock.newNeighbor({ family: fam === 4 ? AF_INET : AF_INET6, ifindex: index, state: { permanent: true } as rt.NeighborState }, { dst: ipToBuffer(ip), lladdr: macToBuffer(mac) }, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }));
  }

  /** Adds or replaces a forwarding entry on a VXLAN device: mac is reached through the tunnel to dst. */
  async addFdb(index: number, mac: string, dst: string): Promise<void> {
    await this.call(`add fdb ${mac} dst ${dst}`, () =>
      this.sock.newNeighbor({ family: AF_BRIDGE, ifindex: index, state: { permanent: true } as rt.NeighborState, flags: { self: true } }, { lladdr: macToBuffer(mac), dst: ipToBuffer(dst) }, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }));
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

/** Parsed route types arrive as enum names, raw ones as numbers. */
function isUnicast(type: unknown): boolean {
  return type === 'UNICAST' || type === 1;
}

function routeMsg(r: { dst?: string; gateway?: string; oif?: number; metric?: number }): [rt.Route, rt.RouteAttrs] {
  const dst = r.dst ? splitCidr(r.dst) : undefined;
  const fam = dst?.family ?? (r.gateway ? splitCidr(r.gateway).family : 4);
  return [
    { family: fam === 4 ? AF_INET : AF_INET6, dstLen: dst?.prefix ?? 0, table: RT_TABLE_MAIN, protocol: 'BOOT', scope: r.gateway ? 'UNIVERSE' : 'LINK', type: 'UNICAST' },
    { dst: dst ? ipToBuffer(dst.ip) : undefined, gateway: r.gateway ? ipToBuffer(r.gateway) : undefined, oif: r.oif, priority: r.metric },
  ];
}

function toLinkInfo(m: rt.LinkMessage): LinkInfo {
  return {
    index: m.data.index!,
    name: m.attrs.ifname!,
    kind: kindOf(m.attrs.linkinfo),
    mtu: m.attrs.mtu ?? 0,
    mac: m.attrs.address && m.attrs.address.length === 6 ? bufferToMac(m.attrs.address) : undefined,
    master: m.attrs.master || undefined,
    up: !!m.data.flags?.up,
  };
}
