/** Route messages (struct rtmsg + RTA_* attributes) for the main table: add, delete, dump, decode. Pure functions. */
import { bufferToIp, ipToBuffer, splitCidr } from '../addr';
import { attr, attrU32, parseAttrs, u32 } from './attr';
import {
  AF_INET, AF_INET6, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTA_TABLE,
  RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RTN_UNICAST, RTPROT_BOOT,
} from './constants';
import { ACK_FLAGS, CREATE_FLAGS, DUMP_FLAGS } from './link';
import type { Request } from './nlmsg';

/** A route in the main table. */
export interface RouteInfo {
  dst?: string;
  gateway?: string;
  oif?: number;
  family: 4 | 6;
}

/** What addRoute/delRoute take: a default route when dst is undefined. */
export interface RouteSpec {
  dst?: string;
  gateway?: string;
  oif?: number;
  metric?: number;
}

/** struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; } (12 bytes). */
export function rtmsg(o: { family: number; dstLen?: number; table?: number; protocol?: number; scope?: number; type?: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.dstLen ?? 0, 1);
  b.writeUInt8(o.table ?? 0, 4);
  b.writeUInt8(o.protocol ?? 0, 5);
  b.writeUInt8(o.scope ?? 0, 6);
  b.writeUInt8(o.type ?? 0, 7);
  return b;
}

/** Header and attributes of a main-table unicast route; a route with no gateway is on-link (scope link). */
function routeBody(r: RouteSpec): Buffer {
  const dst = r.dst ? splitCidr(r.dst) : undefined;
  const fam = dst?.family ?? (r.gateway ? splitCidr(r.gateway).family : 4);
  const hdr = rtmsg({
    family: fam === 4 ? AF_INET : AF_INET6, dstLen: dst?.prefix ?? 0, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT,
    scope: r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK, type: RTN_UNICAST,
  });
  const attrs = [hdr];
  if (dst) attrs.push(attr(RTA_DST, ipToBuffer(dst.ip)));
  if (r.oif !== undefined) attrs.push(attrU32(RTA_OIF, r.oif));
  if (r.gateway) attrs.push(attr(RTA_GATEWAY, ipToBuffer(r.gateway)));
  if (r.metric !== undefined) attrs.push(attrU32(RTA_PRIORITY, r.metric));
  return Buffer.concat(attrs);
}

/** RTM_NEWROUTE. */
export function newRoute(r: RouteSpec): Request {
  return { type: RTM_NEWROUTE, flags: CREATE_FLAGS, body: routeBody(r) };
}

/** RTM_DELROUTE. */
export function delRoute(r: RouteSpec): Request {
  return { type: RTM_DELROUTE, flags: ACK_FLAGS, body: routeBody(r) };
}

/** RTM_GETROUTE dump of one family (strict checking refuses any other header field but the table). */
export function dumpRoutes(family: 4 | 6): Request {
  return { type: RTM_GETROUTE, flags: DUMP_FLAGS, body: rtmsg({ family: family === 4 ? AF_INET : AF_INET6 }) };
}

/** Decodes an RTM_NEWROUTE body; undefined for routes outside the main table or of another type than unicast. */
export function decodeRoute(body: Buffer): RouteInfo | undefined {
  const a = parseAttrs(body, 12);
  const table = u32(a.get(RTA_TABLE)) ?? body.readUInt8(4);
  if (table !== RT_TABLE_MAIN || body.readUInt8(7) !== RTN_UNICAST) return undefined;
  const family = body.readUInt8(0) === AF_INET ? 4 : 6;
  const route: RouteInfo = { family };
  const dst = a.get(RTA_DST);
  if (dst) route.dst = `${bufferToIp(dst)}/${body.readUInt8(1)}`;
  const gw = a.get(RTA_GATEWAY);
  if (gw) route.gateway = bufferToIp(gw);
  const oif = u32(a.get(RTA_OIF));
  if (oif !== undefined) route.oif = oif;
  return route;
}
