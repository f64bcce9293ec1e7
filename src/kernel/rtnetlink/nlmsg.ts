/**
 * Netlink message framing: struct nlmsghdr, splitting a datagram into messages, and the
 * NLMSG_ERROR / NLMSG_DONE bodies with their extended ACK. Pure functions over Buffers.
 */
import { align4, parseAttrs, str, u32 } from './attr';
import { NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } from './constants';

/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;

/** A request before it gets its sequence number: message type, flags and body (family header + attributes). */
export interface Request {
  type: number;
  flags: number;
  body: Buffer;
}

/** One received message: header fields and the body after the header. */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Buffer;
}

/** The message on the wire: nlmsghdr (len, type, flags, seq, pid 0 = the kernel) then the body. */
export function encodeMessage(req: Request, seq: number): Buffer {
  const hdr = Buffer.alloc(NLMSG_HDRLEN);
  hdr.writeUInt32LE(NLMSG_HDRLEN + req.body.length, 0);
  hdr.writeUInt16LE(req.type, 4);
  hdr.writeUInt16LE(req.flags, 6);
  hdr.writeUInt32LE(seq >>> 0, 8);
  hdr.writeUInt32LE(0, 12);
  return Buffer.concat([hdr, req.body]);
}

/** Splits one datagram into its messages; a truncated trailing message is an error, never silently dropped. */
export function parseMessages(buf: Buffer): Message[] {
  const out: Message[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new Error(`malformed netlink message at offset ${off}: length ${len} of ${buf.length}`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** What an NLMSG_ERROR (or a failed NLMSG_DONE) says: errno 0 is an ACK. */
export interface NetlinkStatus {
  errno: number;
  /** NLMSGERR_ATTR_MSG: the kernel's own explanation, when it gave one. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  offset?: number;
}

/** Decodes struct nlmsgerr { int error; struct nlmsghdr msg; } and the extended-ACK TLVs after it. */
export function decodeError(m: Message): NetlinkStatus {
  if (m.body.length < 4) throw new Error('malformed NLMSG_ERROR: no error code');
  // 0 - x, not -x: an ACK must read errno 0, not -0.
  const errno = 0 - m.body.readInt32LE(0);
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno };
  // Without NLM_F_CAPPED the whole request is echoed after the error code; its length is in its header.
  const echoed = m.flags & NLM_F_CAPPED || m.body.length < 8 ? NLMSG_HDRLEN : m.body.readUInt32LE(4);
  const tlvs = parseAttrs(m.body, 4 + align4(echoed));
  return { errno, message: str(tlvs.get(NLMSGERR_ATTR_MSG)), offset: u32(tlvs.get(NLMSGERR_ATTR_OFFS)) };
}

/** Decodes NLMSG_DONE: a dump that failed half way carries a negative errno and maybe an extended ACK. */
export function decodeDone(m: Message): NetlinkStatus {
  const errno = m.body.length >= 4 ? 0 - m.body.readInt32LE(0) : 0;
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno: Math.max(errno, 0) };
  const tlvs = parseAttrs(m.body, 4);
  return { errno: Math.max(errno, 0), message: str(tlvs.get(NLMSGERR_ATTR_MSG)), offset: u32(tlvs.get(NLMSGERR_ATTR_OFFS)) };
}

/** The answer to one request, accumulated datagram by datagram. */
export interface Answer {
  /** Data messages of this request (copied: the receive buffer is reused). */
  messages: Message[];
  /** A part carried NLM_F_DUMP_INTR: the dump raced a change and may be inconsistent. */
  interrupted: boolean;
  /** The closing NLMSG_ERROR or NLMSG_DONE, decoded; errno 0 is success. */
  status?: NetlinkStatus;
  done: boolean;
}

/** An empty answer. */
export function newAnswer(): Answer {
  return { messages: [], interrupted: false, done: false };
}

/**
 * Folds one datagram's messages into the answer to request seq (sent with reqFlags). Messages of
 * other sequence numbers are answers to an earlier request that timed out: skipped. The answer is
 * done at NLMSG_ERROR (an ACK or a refusal), at NLMSG_DONE, or after the one message of a plain GET.
 */
export function absorb(answer: Answer, batch: Message[], seq: number, reqFlags: number): Answer {
  for (const m of batch) {
    if (answer.done) break;
    if (m.seq !== seq || m.type === NLMSG_NOOP) continue;
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
      answer.status = m.type === NLMSG_ERROR ? decodeError(m) : decodeDone(m);
      answer.done = true;
      break;
    }
    answer.interrupted ||= (m.flags & NLM_F_DUMP_INTR) !== 0;
    answer.messages.push({ ...m, body: Buffer.from(m.body) });
    answer.done = !(m.flags & NLM_F_MULTI) && !(reqFlags & NLM_F_ACK);
  }
  return answer;
}
