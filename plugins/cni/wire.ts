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

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Encodes a request as the shim sends it (used by tests and by anything speaking to the socket from node). */
export function encodeRequest(req: WireRequest): Buffer {
  const env = Buffer.from(Object.entries(req.env).map(([k, v]) => `${k}=${v}\0`).join(''));
  return Buffer.concat([MAGIC, u32(env.length), env, u32(req.stdin.length), req.stdin]);
}

/** Encodes the reply the daemon writes after the ack. */
export function encodeReply(reply: WireReply): Buffer {
  const out = Buffer.from(reply.stdout), err = Buffer.from(reply.stderr);
  return Buffer.concat([u32(reply.code), u32(out.length), out, u32(err.length), err]);
}

/** Splits "K=V\0K=V\0" into variables; an entry without "=" is malformed. */
function decodeEnv(block: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of block.toString('utf8').split('\0')) {
    if (!entry) continue;
    const i = entry.indexOf('=');
    if (i < 1) throw new Error(`malformed environment entry "${entry.slice(0, 40)}"`);
    env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/**
 * Reads one request from the chunks of a connection. push() returns the request once the bytes
 * so far hold it whole, undefined while more are needed, and throws on anything malformed.
 */
export class RequestReader {
  private chunks: Buffer[] = [];

  push(chunk: Buffer): WireRequest | undefined {
    this.chunks.push(chunk);
    // A request is small and read once: joining the chunks on each arrival costs nothing that matters.
    const buf = this.chunks.length > 1 ? Buffer.concat(this.chunks) : chunk;
    this.chunks = [buf];
    if (buf.length < 8) return undefined;
    if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('not a tsnet-cni request (bad magic)');
    const envLen = buf.readUInt32BE(4);
    if (envLen > MAX_ENV) throw new Error(`environment of ${envLen} bytes exceeds ${MAX_ENV}`);
    if (buf.length < 12 + envLen) return undefined;
    const stdinLen = buf.readUInt32BE(8 + envLen);
    if (stdinLen > MAX_STDIN) throw new Error(`stdin of ${stdinLen} bytes exceeds ${MAX_STDIN}`);
    const end = 12 + envLen + stdinLen;
    if (buf.length < end) return undefined;
    if (buf.length > end) throw new Error(`${buf.length - end} bytes after the request`);
    return { env: decodeEnv(buf.subarray(8, 8 + envLen)), stdin: Buffer.from(buf.subarray(12 + envLen, end)) };
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
