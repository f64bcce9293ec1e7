/**
 * Link messages (struct ifinfomsg + IFLA_* attributes): requests to create, change, delete and
 * read links, and the decoder of RTM_NEWLINK replies. Pure functions; kinds live in link-kinds.ts.
 */
import { bufferToMac } from '../addr';
import { attr, attrStr, attrU32, nested, parseAttrs, str, u16, u32 } from './attr';
import {
  AF_UNSPEC, IFF_UP, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINK, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU,
  IFLA_NET_NS_FD, IFLA_VLAN_ID, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK,
  RTM_SETLINK,
} from './constants';
import type { Request } from './nlmsg';

/** A link as tsnet cares about it. */
export interface LinkInfo {
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  mac?: string;
  master?: number;
  up: boolean;
  /** IFLA_LINK: the parent (macvlan, vlan) or the peer's index (veth, possibly in another namespace). */
  parent?: number;
  /** The 802.1Q id, when kind is vlan. */
  vlanId?: number;
}

/** A link named by index or by name. */
export type LinkRef = string | number;

/** Flags of a request that creates and must not replace. */
export const CREATE_FLAGS = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/** Flags of a request that changes or deletes and wants its ACK. */
export const ACK_FLAGS = NLM_F_REQUEST | NLM_F_ACK;
/** Flags of a dump. */
export const DUMP_FLAGS = NLM_F_REQUEST | NLM_F_DUMP;

/** struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; } (16 bytes). */
export function ifinfomsg(o: { family?: number; index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(o.family ?? AF_UNSPEC, 0);
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt32LE(o.flags ?? 0, 8);
  b.writeUInt32LE(o.change ?? 0, 12);
  return b;
}

/** Attributes any new link may carry: name, MTU, MAC, parent, target namespace. */
export interface CommonLinkAttrs {
  name: string;
  mtu?: number;
  mac?: Buffer;
  parent?: number;
  netnsFd?: number;
}

/** The IFLA_* attributes of CommonLinkAttrs, in ascending type order. */
export function commonAttrs(o: CommonLinkAttrs): Buffer[] {
  const out = [];
  if (o.mac) out.push(attr(IFLA_ADDRESS, o.mac));
  out.push(attrStr(IFLA_IFNAME, o.name));
  if (o.mtu) out.push(attrU32(IFLA_MTU, o.mtu));
  if (o.parent !== undefined) out.push(attrU32(IFLA_LINK, o.parent));
  if (o.netnsFd !== undefined) out.push(attrU32(IFLA_NET_NS_FD, o.netnsFd));
  return out;
}

/** IFLA_LINKINFO { IFLA_INFO_KIND kind, IFLA_INFO_DATA data? }. */
export function linkinfo(kind: string, data?: Buffer[]): Buffer {
  const children = [attrStr(IFLA_INFO_KIND, kind)];
  if (data) children.push(nested(IFLA_INFO_DATA, data));
  return nested(IFLA_LINKINFO, children);
}

/** RTM_NEWLINK that creates a link of a kind (refused with EEXIST when the name is taken). */
export function newLink(common: CommonLinkAttrs, info: Buffer): Request {
  return { type: RTM_NEWLINK, flags: CREATE_FLAGS, body: Buffer.concat([ifinfomsg(), ...commonAttrs(common), info]) };
}

/** RTM_SETLINK on index: flags/change change IFF_* bits, attrs change the rest. */
export function setLink(index: number, o: { flags?: number; change?: number; attrs?: Buffer[] }): Request {
  return { type: RTM_SETLINK, flags: ACK_FLAGS, body: Buffer.concat([ifinfomsg({ index, flags: o.flags, change: o.change }), ...(o.attrs ?? [])]) };
}

/** Sets IFF_UP (up) or clears it. */
export function setLinkUp(index: number, up: boolean): Request {
  return setLink(index, { flags: up ? IFF_UP : 0, change: IFF_UP });
}

/** Sets the master (0 releases the link from its bridge). */
export function setLinkMaster(index: number, master: number): Request {
  return setLink(index, { attrs: [attrU32(IFLA_MASTER, master)] });
}

/** Moves the link into the namespace behind nsFd, renaming it on the way when newName is given. */
export function setLinkNetns(index: number, nsFd: number, newName?: string): Request {
  const attrs = newName ? [attrStr(IFLA_IFNAME, newName)] : [];
  return setLink(index, { attrs: [...attrs, attrU32(IFLA_NET_NS_FD, nsFd)] });
}

/** Renames the link. */
export function setLinkName(index: number, name: string): Request {
  return setLink(index, { attrs: [attrStr(IFLA_IFNAME, name)] });
}

/** Sets the MTU. */
export function setLinkMtu(index: number, mtu: number): Request {
  return setLink(index, { attrs: [attrU32(IFLA_MTU, mtu)] });
}

/** Sets the hardware address. */
export function setLinkMac(index: number, mac: Buffer): Request {
  return setLink(index, { attrs: [attr(IFLA_ADDRESS, mac)] });
}

/** The ifinfomsg and attributes that name a link: the index in the header, or IFLA_IFNAME. */
function named(ref: LinkRef): Buffer {
  return typeof ref === 'number' ? ifinfomsg({ index: ref }) : Buffer.concat([ifinfomsg(), attrStr(IFLA_IFNAME, ref)]);
}

/** RTM_DELLINK of a link by index or name. */
export function delLink(ref: LinkRef): Request {
  return { type: RTM_DELLINK, flags: ACK_FLAGS, body: named(ref) };
}

/** RTM_GETLINK of one link by index or name: the reply is one RTM_NEWLINK. */
export function getLink(ref: LinkRef): Request {
  return { type: RTM_GETLINK, flags: NLM_F_REQUEST, body: named(ref) };
}

/** RTM_GETLINK dump of every link (strict checking wants an all-zero header). */
export function dumpLinks(): Request {
  return { type: RTM_GETLINK, flags: DUMP_FLAGS, body: ifinfomsg() };
}

/** Decodes an RTM_NEWLINK body into a LinkInfo. */
export function decodeLink(body: Buffer): LinkInfo {
  const a = parseAttrs(body, 16);
  const info = a.get(IFLA_LINKINFO) ? parseAttrs(a.get(IFLA_LINKINFO)!) : undefined;
  const kind = str(info?.get(IFLA_INFO_KIND));
  const link: LinkInfo = {
    index: body.readInt32LE(4),
    name: str(a.get(IFLA_IFNAME)) ?? '',
    mtu: u32(a.get(IFLA_MTU)) ?? 0,
    up: (body.readUInt32LE(8) & IFF_UP) !== 0,
  };
  if (kind) link.kind = kind;
  const mac = a.get(IFLA_ADDRESS);
  if (mac && mac.length === 6) link.mac = bufferToMac(mac);
  const master = u32(a.get(IFLA_MASTER));
  if (master) link.master = master;
  const parent = u32(a.get(IFLA_LINK));
  if (parent) link.parent = parent;
  if (kind === 'vlan' && info?.get(IFLA_INFO_DATA)) {
    const vlanId = u16(parseAttrs(info.get(IFLA_INFO_DATA)!).get(IFLA_VLAN_ID));
    if (vlanId !== undefined) link.vlanId = vlanId;
  }
  return link;
}
