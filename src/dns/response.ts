/**
 * Response encoding. Answers are assembled from the client's own header and question bytes (so its
 * id and 0x20 letter case come back as sent) plus resource records encoded once and cached.
 */
import { ipToBuffer } from '../kernel/addr';
import { ADVERTISED_UDP_SIZE, MAX_TCP_MESSAGE, MAX_UDP_EDNS, MAX_UDP_PLAIN, QCLASS, QTYPE } from './constants';
import { encodeName } from './wire';

/** The parts of a parsed query a response needs (a QueryView, or a snapshot of one kept across an await). */
export interface QueryShape {
  /** Offset just past the question section. */
  questionEnd: number;
  /** Client's EDNS UDP size; 0 when it sent no OPT record. */
  ednsSize: number;
}

const HEADER = 12;
const OPT_LEN = 11;
/** Compression pointer to the question name, which always sits at offset 12. */
const NAME_PTR = 0xc00c;

/** One A or AAAA record for the question name. */
export function addressRecord(ip: string, ttl: number): Buffer {
  const rdata = ipToBuffer(ip);
  return record(rdata.length === 4 ? QTYPE.A : QTYPE.AAAA, ttl, rdata);
}

/** One PTR record for the question name pointing at target. */
export function ptrRecord(target: string, ttl: number): Buffer {
  return record(QTYPE.PTR, ttl, encodeName(target));
}

function record(type: number, ttl: number, rdata: Buffer): Buffer {
  const rr = Buffer.alloc(12 + rdata.length);
  rr.writeUInt16BE(NAME_PTR, 0);
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(QCLASS.IN, 4);
  rr.writeUInt32BE(ttl, 6);
  rr.writeUInt16BE(rdata.length, 10);
  rdata.copy(rr, 12);
  return rr;
}

/** Largest response the client accepts over this transport. */
export function maxResponseSize(view: QueryShape, tcp: boolean): number {
  if (tcp) return MAX_TCP_MESSAGE;
  if (view.ednsSize === 0) return MAX_UDP_PLAIN;
  return Math.min(Math.max(view.ednsSize, MAX_UDP_PLAIN), MAX_UDP_EDNS);
}

/** What an answer says besides its records. */
export interface AnswerShape {
  rcode: number;
  authoritative: boolean;
  /** Records in their stored order; the answer starts at `start` and wraps around (round-robin). */
  records: readonly Buffer[];
  start: number;
}

/**
 * The response to the query in msg (decoded into view): header, the client's question, as many
 * records as fit in maxSize (TC set when some did not), and an OPT record if the client sent one.
 */
export function buildResponse(msg: Buffer, view: QueryShape, shape: AnswerShape, maxSize: number): Buffer {
  const qEnd = view.questionEnd;
  const opt = view.ednsSize > 0 ? OPT_LEN : 0;
  const n = shape.records.length;
  let size = qEnd + opt;
  let count = 0;
  while (count < n) {
    const rr = shape.records[(shape.start + count) % n];
    if (size + rr.length > maxSize) break;
    size += rr.length;
    count++;
  }
  const out = Buffer.allocUnsafe(size);
  msg.copy(out, 0, 0, qEnd);
  // QR, opcode 0, AA as decided, TC when records were left out, RD echoed; RA since we recurse via upstreams.
  out[2] = 0x80 | (shape.authoritative ? 0x04 : 0) | (count < n ? 0x02 : 0) | (msg[2] & 0x01);
  out[3] = 0x80 | (msg[3] & 0x10) | (shape.rcode & 0x0f);
  out[4] = 0;
  out[5] = 1;
  out[6] = count >> 8;
  out[7] = count & 0xff;
  out[8] = out[9] = out[10] = 0;
  out[11] = opt ? 1 : 0;
  let off = qEnd;
  for (let i = 0; i < count; i++) off += shape.records[(shape.start + i) % n].copy(out, off);
  if (opt) writeOpt(out, off);
  return out;
}

/** Our OPT record: root name, our UDP size, no extended rcode, version 0, no options. */
function writeOpt(out: Buffer, off: number): void {
  out[off] = 0;
  out.writeUInt16BE(QTYPE.OPT, off + 1);
  out.writeUInt16BE(ADVERTISED_UDP_SIZE, off + 3);
  out.writeUInt32BE(0, off + 5);
  out.writeUInt16BE(0, off + 9);
}

/**
 * A header-only response with rcode (FORMERR, NOTIMP…) echoing id, opcode and RD. No question is
 * echoed: the question may be what was malformed. Undefined when msg has no header to echo.
 */
export function errorResponse(msg: Buffer, rcode: number): Buffer | undefined {
  if (msg.length < HEADER) return undefined;
  const out = Buffer.alloc(HEADER);
  out[0] = msg[0];
  out[1] = msg[1];
  out[2] = 0x80 | (msg[2] & 0x79);
  out[3] = 0x80 | (rcode & 0x0f);
  return out;
}

/** A response with rcode that echoes the (well-formed) question, e.g. SERVFAIL or REFUSED. */
export function rcodeResponse(msg: Buffer, view: QueryShape, rcode: number): Buffer {
  return buildResponse(msg, view, { rcode, authoritative: false, records: [], start: 0 }, MAX_TCP_MESSAGE);
}

/** A copy of msg with TC set and only header and question kept: tells a UDP client to retry over TCP. */
export function truncatedResponse(msg: Buffer, questionEnd: number): Buffer {
  const out = Buffer.from(msg.subarray(0, questionEnd));
  out[2] |= 0x02;
  out.fill(0, 6, 12);
  return out;
}
