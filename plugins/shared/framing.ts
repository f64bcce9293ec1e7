/**
 * The framing the exec shims and the daemon's sockets share (plugins/cni/wire.ts for the CNI and
 * netavark faces, src/cli/wire.ts for the thin client): a request is a magic then length-prefixed
 * fields (u32 big-endian), a reply a u32 exit code then length-prefixed stdout and stderr; an
 * environment field is "KEY=VALUE\0"….
 */

/** n as 4 bytes, big-endian. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** head, then each field as u32 length | bytes. */
export function frame(head: Buffer, fields: Buffer[]): Buffer {
  return Buffer.concat([head, ...fields.flatMap((f) => [u32(f.length), f])]);
}

/** A reply: u32 exit code | u32 n | stdout | u32 n | stderr. */
export function encodeExecReply(code: number, stdout: Buffer, stderr: Buffer): Buffer {
  return frame(u32(code), [stdout, stderr]);
}

/** Variables as an environment field. */
export function encodeEnv(env: Record<string, string>): Buffer {
  return Buffer.from(Object.entries(env).map(([k, v]) => `${k}=${v}\0`).join(''));
}

/** Splits "K=V\0K=V\0" into variables, empty entries skipped; an entry without "=" is malformed. */
export function decodeEnv(block: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of block.toString('utf8').split('\0')) {
    if (!entry) continue;
    const i = entry.indexOf('=');
    if (i < 1) throw new Error(`malformed environment entry "${entry.slice(0, 40)}"`);
    env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/** What a request holds after its magic: each field's name (for errors) and bound. */
export interface RequestShape {
  magic: Buffer;
  /** The request's kind in the bad-magic error ("tsnet-cni"). */
  what: string;
  fields: { name: string; max: number }[];
}

/**
 * The fields of a whole request in buf (subarrays of it); undefined while more bytes are needed.
 * Throws on a foreign magic, a field over its bound, or bytes after the last field.
 */
export function readFields(buf: Buffer, shape: RequestShape): Buffer[] | undefined {
  const { magic } = shape;
  if (buf.length >= magic.length && !buf.subarray(0, magic.length).equals(magic)) throw new Error(`not a ${shape.what} request (bad magic)`);
  const fields: Buffer[] = [];
  let at = magic.length;
  for (const { name, max } of shape.fields) {
    if (buf.length < at + 4) return undefined;
    const n = buf.readUInt32BE(at);
    if (n > max) throw new Error(`${name} of ${n} bytes exceeds ${max}`);
    if (buf.length < at + 4 + n) return undefined;
    fields.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (buf.length > at) throw new Error(`${buf.length - at} bytes after the request`);
  return fields;
}

/**
 * Reads one request from the chunks of a connection: push() returns it once the bytes so far hold
 * it whole (decode's answer), undefined while more are needed, and throws on anything malformed.
 */
export class ChunkReader<T> {
  private chunks: Buffer[] = [];

  constructor(private readonly decode: (buf: Buffer) => T | undefined) {}

  push(chunk: Buffer): T | undefined {
    this.chunks.push(chunk);
    // A request is small and read once: joining the chunks on each arrival costs nothing that matters.
    const buf = this.chunks.length > 1 ? Buffer.concat(this.chunks) : chunk;
    this.chunks = [buf];
    return this.decode(buf);
  }
}
