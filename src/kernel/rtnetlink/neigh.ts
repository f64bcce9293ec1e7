/**
 * Neighbour messages (struct ndmsg + NDA_* attributes): ARP/NDP entries (AF_INET/AF_INET6) and
 * forwarding entries (AF_BRIDGE with NTF_SELF: a vxlan device's own FDB). Pure functions.
 */
import { InvalidArgumentError } from '../../errors';
import { bufferToIp, bufferToMac, ipToBuffer, macToBuffer, splitCidr } from '../addr';
import { attr, attrU32, parseAttrs } from './attr';
import {
  AF_BRIDGE, AF_INET, AF_INET6, AF_UNSPEC, NDA_DST, NDA_IFINDEX, NDA_LLADDR, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST,
  NTF_SELF, NUD_DELAY, NUD_FAILED, NUD_INCOMPLETE, NUD_NOARP, NUD_PERMANENT, NUD_PROBE, NUD_REACHABLE, NUD_STALE, RTM_DELNEIGH,
  RTM_GETNEIGH, RTM_NEWNEIGH,
} from './constants';
import { ACK_FLAGS, DUMP_FLAGS } from './link';
import type { Request } from './nlmsg';

/** NUD states by the names ip-neighbour(8) prints. */
export const NEIGH_STATES = {
  permanent: NUD_PERMANENT, noarp: NUD_NOARP, reachable: NUD_REACHABLE, stale: NUD_STALE, delay: NUD_DELAY, probe: NUD_PROBE,
  failed: NUD_FAILED, incomplete: NUD_INCOMPLETE,
} as const;

/** A neighbour state name ("none" when no bit is set). */
export type NeighState = keyof typeof NEIGH_STATES | 'none';

/** An ARP/NDP entry. */
export interface NeighInfo {
  index: number;
  ip: string;
  mac?: string;
  state: NeighState;
}

/** A forwarding entry: mac reached through dst (a vxlan remote) or through the port itself. */
export interface FdbInfo {
  index: number;
  mac: string;
  dst?: string;
  permanent: boolean;
}

/** Adds or replaces: tsnet owns the entries it programs. */
const UPSERT_FLAGS = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
/** Adds one more remote: vxlan refuses REPLACE for the all-zeros (flood) and multicast MACs, which list several. */
const APPEND_FLAGS = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND;

/** struct ndmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u16 state; u8 flags; u8 type; } (12 bytes). */
export function ndmsg(o: { family: number; index?: number; state?: number; flags?: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(o.family, 0);
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt16LE(o.state ?? 0, 8);
  b.writeUInt8(o.flags ?? 0, 10);
  return b;
}

/** The address family byte of an IP literal. */
function afOf(ip: string): number {
  return splitCidr(ip).family === 4 ? AF_INET : AF_INET6;
}

/** RTM_NEWNEIGH: ip is at mac on link index (permanent, or reachable so the kernel may age it out). */
export function newNeigh(index: number, ip: string, mac: string, permanent = true): Request {
  const hdr = ndmsg({ family: afOf(ip), index, state: permanent ? NUD_PERMANENT : NUD_REACHABLE });
  return { type: RTM_NEWNEIGH, flags: UPSERT_FLAGS, body: Buffer.concat([hdr, attr(NDA_DST, ipToBuffer(ip)), attr(NDA_LLADDR, macToBuffer(mac))]) };
}

/** RTM_DELNEIGH of ip on link index. */
export function delNeigh(index: number, ip: string): Request {
  return { type: RTM_DELNEIGH, flags: ACK_FLAGS, body: Buffer.concat([ndmsg({ family: afOf(ip), index }), attr(NDA_DST, ipToBuffer(ip))]) };
}

/** RTM_GETNEIGH dump (ARP and NDP tables, or one family); strict checking takes the link as NDA_IFINDEX, not in the header. */
export function dumpNeigh(index?: number, family?: 4 | 6): Request {
  const af = family === undefined ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
  const filter = index === undefined ? [] : [attrU32(NDA_IFINDEX, index)];
  return { type: RTM_GETNEIGH, flags: DUMP_FLAGS, body: Buffer.concat([ndmsg({ family: af }), ...filter]) };
}

/** RTM_NEWNEIGH for AF_BRIDGE with NTF_SELF: mac is behind dst, in the device's own table (appended for flood MACs). */
export function newFdb(index: number, mac: string, dst: string, permanent = true): Request {
  const hdr = ndmsg({ family: AF_BRIDGE, index, state: permanent ? NUD_PERMANENT : NUD_REACHABLE, flags: NTF_SELF });
  const lladdr = fdbMac(mac);
  const flood = lladdr.every((b) => b === 0) || (lladdr[0] & 1) === 1;
  return { type: RTM_NEWNEIGH, flags: flood ? APPEND_FLAGS : UPSERT_FLAGS, body: Buffer.concat([hdr, attr(NDA_DST, ipToBuffer(dst)), attr(NDA_LLADDR, lladdr)]) };
}

/** RTM_DELNEIGH for AF_BRIDGE with NTF_SELF; with dst, only that remote of mac goes. */
export function delFdb(index: number, mac: string, dst?: string): Request {
  const attrs = [ndmsg({ family: AF_BRIDGE, index, flags: NTF_SELF })];
  if (dst) attrs.push(attr(NDA_DST, ipToBuffer(dst)));
  attrs.push(attr(NDA_LLADDR, fdbMac(mac)));
  return { type: RTM_DELNEIGH, flags: ACK_FLAGS, body: Buffer.concat(attrs) };
}

/** RTM_GETNEIGH dump of AF_BRIDGE entries, of one port when index is given (as NDA_IFINDEX under strict checking). */
export function dumpFdb(index?: number): Request {
  const filter = index === undefined ? [] : [attrU32(NDA_IFINDEX, index)];
  return { type: RTM_GETNEIGH, flags: DUMP_FLAGS, body: Buffer.concat([ndmsg({ family: AF_BRIDGE }), ...filter]) };
}

/** A forwarding MAC: unlike an interface address, 00:00:00:00:00:00 (flood to every remote) and multicast are valid here. */
function fdbMac(mac: string): Buffer {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new InvalidArgumentError(`invalid MAC address "${mac}"`);
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** The name of a NUD state bitmask (the highest-priority bit, as ip(8) prints the first). */
export function stateName(state: number): NeighState {
  for (const [name, bit] of Object.entries(NEIGH_STATES)) if (state & bit) return name as NeighState;
  return 'none';
}

/** Decodes an RTM_NEWNEIGH body of an ARP/NDP entry; undefined for entries without an address. */
export function decodeNeigh(body: Buffer): NeighInfo | undefined {
  const a = parseAttrs(body, 12);
  const dst = a.get(NDA_DST);
  if (!dst) return undefined;
  const n: NeighInfo = { index: body.readInt32LE(4), ip: bufferToIp(dst), state: stateName(body.readUInt16LE(8)) };
  const ll = a.get(NDA_LLADDR);
  if (ll && ll.length === 6) n.mac = bufferToMac(ll);
  return n;
}

/** Decodes an AF_BRIDGE RTM_NEWNEIGH body; undefined for entries without a 6-byte MAC. */
export function decodeFdb(body: Buffer): FdbInfo | undefined {
  const a = parseAttrs(body, 12);
  const ll = a.get(NDA_LLADDR);
  if (!ll || ll.length !== 6) return undefined;
  const f: FdbInfo = { index: body.readInt32LE(4), mac: bufferToMac(ll), permanent: (body.readUInt16LE(8) & NUD_PERMANENT) !== 0 };
  const dst = a.get(NDA_DST);
  if (dst && (dst.length === 4 || dst.length === 16)) f.dst = bufferToIp(dst);
  return f;
}
