/**
 * Query decoding for the hot path. A query is almost always one header, one question and at most
 * one OPT record; that shape is read by hand here, into a reused view, without allocating a
 * decoded message. Anything else is validated by dns-packet (the slow path) or refused.
 */
import * as dnsPacket from 'dns-packet';
import { MAX_SLOW_PATH_QUERY, QTYPE } from './constants';

/** A decoded query. The server reuses one instance, so async code copies what it needs first. */
export class QueryView {
  id = 0;
  /** Header flag bytes 2–3 as received. */
  flags = 0;
  qtype = 0;
  qclass = 0;
  /** Offset just past the question section; the question is msg[12, questionEnd). */
  questionEnd = 0;
  /** Lowercased wire-form question name (length-prefixed labels) as a latin1 string: the cache key. */
  wireName = '';
  /** UDP payload size from the client's OPT record; 0 when it sent none. */
  ednsSize = 0;
}

/** What to do with a packet that is not a well-formed query. */
export const enum ParseResult {
  Ok = 0,
  /** Not a query we should answer (short header, a response): send nothing. */
  Drop = 1,
  FormErr = 2,
  NotImp = 3,
}

const HEADER = 12;
const MAX_NAME = 255;

/** Decodes msg into view; anything but Ok tells the caller which error (if any) to send. */
export function parseQuery(msg: Buffer, view: QueryView): ParseResult {
  if (msg.length < HEADER) return ParseResult.Drop;
  const flags = (msg[2] << 8) | msg[3];
  // QR set means a response: answering responses invites reflection loops.
  if (flags & 0x8000) return ParseResult.Drop;
  view.id = (msg[0] << 8) | msg[1];
  view.flags = flags;
  if ((flags >> 11) & 0x0f) return ParseResult.NotImp;
  if (msg[4] !== 0 || msg[5] !== 1) return ParseResult.FormErr;
  const end = readQuestionName(msg);
  if (end < 0 || end + 4 > msg.length) return ParseResult.FormErr;
  view.wireName = msg.toString('latin1', HEADER, end).toLowerCase();
  view.qtype = (msg[end] << 8) | msg[end + 1];
  view.qclass = (msg[end + 2] << 8) | msg[end + 3];
  view.questionEnd = end + 4;
  view.ednsSize = 0;
  const an = (msg[6] << 8) | msg[7], ns = (msg[8] << 8) | msg[9], ar = (msg[10] << 8) | msg[11];
  if (an === 0 && ns === 0 && ar === 0) return ParseResult.Ok;
  if (an === 0 && ns === 0 && ar === 1 && readSimpleOpt(msg, view)) return ParseResult.Ok;
  return parseRestSlow(msg, view, an + ns + ar);
}

/** Offset after the question name, or -1 when it is malformed (a compression pointer counts: a query has nothing to point back to). */
function readQuestionName(msg: Buffer): number {
  let off = HEADER;
  for (;;) {
    if (off >= msg.length) return -1;
    const len = msg[off];
    if (len === 0) return off + 1;
    if (len > 63) return -1;
    off += len + 1;
    if (off - HEADER >= MAX_NAME) return -1;
  }
}

/** Reads an OPT record that ends the message exactly; false when it is anything else. */
function readSimpleOpt(msg: Buffer, view: QueryView): boolean {
  const off = view.questionEnd;
  if (off + 11 > msg.length || msg[off] !== 0) return false;
  if (((msg[off + 1] << 8) | msg[off + 2]) !== QTYPE.OPT) return false;
  const rdlen = (msg[off + 9] << 8) | msg[off + 10];
  if (off + 11 + rdlen !== msg.length) return false;
  view.ednsSize = (msg[off + 3] << 8) | msg[off + 4];
  return true;
}

/** Other sections present: let dns-packet validate them, within limits that keep hostile packets cheap. */
function parseRestSlow(msg: Buffer, view: QueryView, records: number): ParseResult {
  // Each record needs at least 11 bytes; bigger counts are lies, and big queries are not real ones.
  if (msg.length > MAX_SLOW_PATH_QUERY || records * 11 > msg.length - view.questionEnd) return ParseResult.FormErr;
  let decoded: dnsPacket.Packet;
  try {
    decoded = dnsPacket.decode(msg);
  } catch {
    return ParseResult.FormErr;
  }
  const opts = (decoded.additionals ?? []).filter((rr) => rr.type === 'OPT');
  if (opts.length > 1) return ParseResult.FormErr;
  view.ednsSize = opts.length ? (opts[0] as dnsPacket.OptAnswer).udpPayloadSize ?? 512 : 0;
  return ParseResult.Ok;
}

/** Dotted text of a lowercased wire name ("" for the root); undefined when a label holds a dot or a control byte. */
export function wireNameToText(wireName: string): string | undefined {
  let out = '';
  for (let off = 0; off < wireName.length; ) {
    const len = wireName.charCodeAt(off);
    if (len === 0) break;
    const label = wireName.slice(off + 1, off + 1 + len);
    if (!/^[\x21-\x2d\x2f-\x7e]+$/.test(label)) return undefined;
    out += out ? '.' + label : label;
    off += len + 1;
  }
  return out;
}

/** Wire form of a dotted name (uncompressed), for PTR targets; labels are validated upstream (records), so over-long ones are cut, not rejected. */
export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([Math.min(bytes.length, 63)]), bytes.subarray(0, 63));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** The address a PTR name stands for ("4.3.2.1.in-addr.arpa" → "1.2.3.4"); undefined when it is not a full one. */
export function reverseNameToIp(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) < 256)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    return hex.match(/.{4}/g)!.join(':');
  }
  return undefined;
}
