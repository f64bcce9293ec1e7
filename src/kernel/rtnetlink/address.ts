/** Address messages (struct ifaddrmsg + IFA_* attributes): add, delete, dump, decode. Pure functions. */
import { bufferToIp, ipToBuffer, splitCidr } from '../addr';
import { attr, parseAttrs } from './attr';
import { AF_INET, AF_INET6, AF_UNSPEC, IFA_ADDRESS, IFA_F_NODAD, IFA_LOCAL, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR } from './constants';
import { ACK_FLAGS, CREATE_FLAGS, DUMP_FLAGS } from './link';
import type { Request } from './nlmsg';

/** An address on a link. */
export interface AddrInfo {
  index: number;
  cidr: string;
  family: 4 | 6;
}

/** struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; } (8 bytes). */
export function ifaddrmsg(o: { family: number; prefixlen?: number; flags?: number; index?: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.prefixlen ?? 0, 1);
  b.writeUInt8(o.flags ?? 0, 2);
  b.writeUInt32LE(o.index ?? 0, 4);
  return b;
}

/** Header and attributes of cidr on index: v4 sends IFA_LOCAL and IFA_ADDRESS (as ip(8) does), v6 only IFA_ADDRESS. */
function addrBody(index: number, cidr: string, flags: number): Buffer {
  const { ip, prefix, family } = splitCidr(cidr);
  const bytes = ipToBuffer(ip);
  const hdr = ifaddrmsg({ family: family === 4 ? AF_INET : AF_INET6, prefixlen: prefix, flags: family === 6 ? flags : 0, index });
  return Buffer.concat(family === 4 ? [hdr, attr(IFA_ADDRESS, bytes), attr(IFA_LOCAL, bytes)] : [hdr, attr(IFA_ADDRESS, bytes)]);
}

/** RTM_NEWADDR; v6 addresses skip duplicate address detection, as netavark does. */
export function newAddr(index: number, cidr: string): Request {
  return { type: RTM_NEWADDR, flags: CREATE_FLAGS, body: addrBody(index, cidr, IFA_F_NODAD) };
}

/** RTM_DELADDR. */
export function delAddr(index: number, cidr: string): Request {
  return { type: RTM_DELADDR, flags: ACK_FLAGS, body: addrBody(index, cidr, 0) };
}

/** RTM_GETADDR dump of all families, filtered by the kernel to one link when index is given. */
export function dumpAddrs(index?: number): Request {
  return { type: RTM_GETADDR, flags: DUMP_FLAGS, body: ifaddrmsg({ family: AF_UNSPEC, index }) };
}

/** Decodes an RTM_NEWADDR body; IFA_LOCAL wins over IFA_ADDRESS (the peer on point-to-point links). */
export function decodeAddr(body: Buffer): AddrInfo | undefined {
  const a = parseAttrs(body, 8);
  const bytes = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (!bytes || (bytes.length !== 4 && bytes.length !== 16)) return undefined;
  return { index: body.readUInt32LE(4), cidr: `${bufferToIp(bytes)}/${body.readUInt8(1)}`, family: bytes.length === 4 ? 4 : 6 };
}
