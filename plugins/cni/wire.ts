/**
 * The framing between the exec shim (shim/tsnet-cni.c) and the daemon's CNI socket: one request and
 * one reply per connection, every field length-prefixed (u32 big-endian), so neither side parses JSON
 * or escapes anything.
 *
 *   request  "CNI1" | u32 n | env: n bytes of "KEY=VALUE\0"… | u32 n | stdin: n bytes
 *   ack      "A"                       once the request is whole and about to run
 *   reply    u32 exit code | u32 n | stdout | u32 n | stderr
 *
 * The ack tells the shim whether the command ran: a connection lost before it means nothing happened
 * and the shim may run the command through node instead; lost after it, an ADD may be half done.
 */
import { ChunkReader, decodeEnv, encodeEnv, encodeExecReply, frame, readFields, type RequestShape } from '../shared/framing';

/** First bytes of a request; a daemon that does not know them closes without an ack. */
export const MAGIC = Buffer.from('CNI1');
/** Sent once the request is read whole and handed to runCni. */
export const ACK = Buffer.from('A');
/** Bounds a request may not exceed (a config with a prevResult is kilobytes). */
export const MAX_ENV = 1 << 20;
export const MAX_STDIN = 64 << 20;

/** A decoded request: the CNI_* variables (and TSNET_DEBUG) the shim passed, and the config. */
export interface WireRequest {
  env: Record<string, string>;
  stdin: Buffer;
}

/** What runCni produced. */
export interface WireReply {
  code: number;
  stdout: string;
  stderr: string;
}

/** The request's fields after its magic. */
const SHAPE: RequestShape = { magic: MAGIC, what: 'tsnet-cni', fields: [{ name: 'environment', max: MAX_ENV }, { name: 'stdin', max: MAX_STDIN }] };

/** Encodes a request as the shim sends it (used by tests and by anything speaking to the socket from node). */
export function encodeRequest(req: WireRequest): Buffer {
  return frame(MAGIC, [encodeEnv(req.env), req.stdin]);
}

/** Encodes the reply the daemon writes after the ack. */
export function encodeReply(reply: WireReply): Buffer {
  return encodeExecReply(reply.code, Buffer.from(reply.stdout), Buffer.from(reply.stderr));
}

/** Decodes a whole request; undefined while more bytes are needed; throws on anything malformed. */
function decodeRequest(buf: Buffer): WireRequest | undefined {
  const fields = readFields(buf, SHAPE);
  // stdin is copied out of the connection's buffer, which the reader no longer needs.
  return fields && { env: decodeEnv(fields[0]), stdin: Buffer.from(fields[1]) };
}

/**
 * Reads one request from the chunks of a connection. push() returns the request once the bytes
 * so far hold it whole, undefined while more are needed, and throws on anything malformed.
 */
export class RequestReader extends ChunkReader<WireRequest> {
  constructor() {
    super(decodeRequest);
  }
}

/** Decodes what the daemon wrote (ack then reply); undefined when the bytes do not hold a whole reply. */
export function decodeReply(buf: Buffer): { acked: boolean; reply?: WireReply } {
  if (!buf.length || buf[0] !== ACK[0]) return { acked: false };
  let at = 1;
  const take = (n: number): Buffer | undefined => (buf.length >= at + n ? buf.subarray(at, (at += n)) : undefined);
  const code = take(4)?.readUInt32BE();
  const out = take(4);
  const stdout = out && take(out.readUInt32BE());
  const err = stdout && take(4);
  const stderr = err && take(err.readUInt32BE());
  if (code === undefined || !stdout || !stderr) return { acked: true };
  return { acked: true, reply: { code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') } };
}
