/**
 * RTM_NEWLINK requests per link kind: the IFLA_INFO_DATA each driver in the kernel expects
 * (veth, bridge, macvlan, ipvlan, vlan, dummy, vxlan). Pure functions.
 */
import { ipToBuffer, splitCidr } from '../addr';
import { attr, attrBe16, attrStr, attrU16, attrU32, attrU8, nested } from './attr';
import {
  AF_BRIDGE, IFLA_ADDRESS, IFLA_BRPORT_LEARNING, IFLA_BRPORT_MODE, IFLA_BRPORT_NEIGH_SUPPRESS, IFLA_IFNAME, IFLA_IPVLAN_FLAGS,
  IFLA_IPVLAN_MODE, IFLA_MACVLAN_MODE, IFLA_MTU, IFLA_NET_NS_FD, IFLA_PROTINFO, IFLA_VLAN_ID, IFLA_VXLAN_ID, IFLA_VXLAN_LEARNING, IFLA_VXLAN_PROXY,
  IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, IFLA_VXLAN_PORT, IFLA_VXLAN_TTL, IPVLAN_F_PRIVATE, IPVLAN_F_VEPA,
  IPVLAN_MODE_L2, IPVLAN_MODE_L3, IPVLAN_MODE_L3S, MACVLAN_MODE_BRIDGE, MACVLAN_MODE_PASSTHRU, MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_VEPA, VETH_INFO_PEER,
} from './constants';
import { ifinfomsg, linkinfo, newLink, setLink, type CommonLinkAttrs } from './link';
import type { Request } from './nlmsg';

/** The IANA VXLAN port, used when none is given. */
export const VXLAN_PORT = 4789;

/** macvlan modes by name. */
export const MACVLAN_MODES = { private: MACVLAN_MODE_PRIVATE, vepa: MACVLAN_MODE_VEPA, bridge: MACVLAN_MODE_BRIDGE, passthru: MACVLAN_MODE_PASSTHRU } as const;
/** ipvlan modes by name. */
export const IPVLAN_MODES = { l2: IPVLAN_MODE_L2, l3: IPVLAN_MODE_L3, l3s: IPVLAN_MODE_L3S } as const;
/** ipvlan flags by name: "bridge" is the absence of a flag. */
export const IPVLAN_FLAGS = { bridge: 0, private: IPVLAN_F_PRIVATE, vepa: IPVLAN_F_VEPA } as const;

/** Settings of a VXLAN device. */
export interface VxlanOptions {
  vni: number;
  /** Source address of the tunnel (v4 or v6). */
  local?: string;
  /** Destination UDP port (default 4789); sent big-endian. */
  port?: number;
  learning?: boolean;
  mtu?: number;
  /** Underlay device index. */
  link?: number;
  /** Outer TTL (0 or absent: inherit the route's). */
  ttl?: number;
  /** ARP/ND proxy (IFLA_VXLAN_PROXY): answered from the device's neighbour table. */
  proxy?: boolean;
}

/** Settings of a macvlan device. */
export interface MacvlanOptions {
  mode: keyof typeof MACVLAN_MODES;
  mtu?: number;
  mac?: string;
  /** Create the device straight into this namespace. */
  netnsFd?: number;
}

/** Settings of an ipvlan device. */
export interface IpvlanOptions {
  mode: keyof typeof IPVLAN_MODES;
  flag?: keyof typeof IPVLAN_FLAGS;
  mtu?: number;
  /** Create the device straight into this namespace. */
  netnsFd?: number;
}

/** Bridge port flags that can be changed on an enslaved link. */
export interface BridgePortOptions {
  learning?: boolean;
  neighSuppress?: boolean;
  hairpin?: boolean;
}

/** A bridge (kind "bridge", no data). */
export function newBridge(common: CommonLinkAttrs): Request {
  return newLink(common, linkinfo('bridge'));
}

/** A dummy device. */
export function newDummy(common: CommonLinkAttrs): Request {
  return newLink(common, linkinfo('dummy'));
}

/** A veth pair; VETH_INFO_PEER holds a struct ifinfomsg then the peer's own attributes. */
export function newVeth(common: CommonLinkAttrs, peer: { name: string; mtu?: number; mac?: Buffer; netnsFd?: number }): Request {
  const peerAttrs = [attrStr(IFLA_IFNAME, peer.name)];
  if (peer.mtu) peerAttrs.push(attrU32(IFLA_MTU, peer.mtu));
  if (peer.mac) peerAttrs.push(attr(IFLA_ADDRESS, peer.mac));
  if (peer.netnsFd !== undefined) peerAttrs.push(attrU32(IFLA_NET_NS_FD, peer.netnsFd));
  // Not flagged NLA_F_NESTED: the payload starts with a struct, not with attributes.
  return newLink(common, linkinfo('veth', [attr(VETH_INFO_PEER, Buffer.concat([ifinfomsg(), ...peerAttrs]))]));
}

/** A macvlan on parent (common.parent) in the given mode (IFLA_MACVLAN_MODE is a u32). */
export function newMacvlan(common: CommonLinkAttrs, mode: keyof typeof MACVLAN_MODES): Request {
  return newLink(common, linkinfo('macvlan', [attrU32(IFLA_MACVLAN_MODE, MACVLAN_MODES[mode])]));
}

/** An ipvlan on parent (common.parent); IFLA_IPVLAN_MODE and IFLA_IPVLAN_FLAGS are u16. */
export function newIpvlan(common: CommonLinkAttrs, mode: keyof typeof IPVLAN_MODES, flag?: keyof typeof IPVLAN_FLAGS): Request {
  const data = [attrU16(IFLA_IPVLAN_MODE, IPVLAN_MODES[mode])];
  if (flag) data.push(attrU16(IFLA_IPVLAN_FLAGS, IPVLAN_FLAGS[flag]));
  return newLink(common, linkinfo('ipvlan', data));
}

/** An 802.1Q vlan on parent (common.parent); IFLA_VLAN_ID is a u16. */
export function newVlan(common: CommonLinkAttrs, vlanId: number): Request {
  return newLink(common, linkinfo('vlan', [attrU16(IFLA_VLAN_ID, vlanId)]));
}

/** A VXLAN device; learning is sent explicitly (off unless asked) because the kernel's default is on. */
export function newVxlan(common: CommonLinkAttrs, o: VxlanOptions): Request {
  const data = [attrU32(IFLA_VXLAN_ID, o.vni)];
  if (o.link) data.push(attrU32(IFLA_VXLAN_LINK, o.link));
  const local = o.local ? { bytes: ipToBuffer(o.local), v4: splitCidr(o.local).family === 4 } : undefined;
  if (local?.v4) data.push(attr(IFLA_VXLAN_LOCAL, local.bytes));
  if (o.ttl !== undefined) data.push(attrU8(IFLA_VXLAN_TTL, o.ttl));
  data.push(attrU8(IFLA_VXLAN_LEARNING, o.learning ? 1 : 0));
  // The device answers ARP/ND for remote endpoints from its neighbour table, so nothing is flooded.
  if (o.proxy) data.push(attrU8(IFLA_VXLAN_PROXY, 1));
  data.push(attrBe16(IFLA_VXLAN_PORT, o.port ?? VXLAN_PORT));
  if (local && !local.v4) data.push(attr(IFLA_VXLAN_LOCAL6, local.bytes));
  return newLink(common, linkinfo('vxlan', data));
}

/** RTM_SETLINK for AF_BRIDGE: IFLA_PROTINFO (nested, which br_setlink requires) with the port flags given. */
export function setBridgePort(index: number, o: BridgePortOptions): Request {
  const flags = [];
  if (o.hairpin !== undefined) flags.push(attrU8(IFLA_BRPORT_MODE, o.hairpin ? 1 : 0));
  if (o.learning !== undefined) flags.push(attrU8(IFLA_BRPORT_LEARNING, o.learning ? 1 : 0));
  if (o.neighSuppress !== undefined) flags.push(attrU8(IFLA_BRPORT_NEIGH_SUPPRESS, o.neighSuppress ? 1 : 0));
  const req = setLink(index, { attrs: [nested(IFLA_PROTINFO, flags)] });
  req.body.writeUInt8(AF_BRIDGE, 0);
  return req;
}
