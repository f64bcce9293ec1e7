/** DNS over TCP framing (RFC 7766): two-byte length prefixes, pipelined queries, answers in any order. */
import type * as net from 'node:net';
import { MAX_TCP_PIPELINE, TCP_IDLE_MS } from './constants';

/** Answers one query: bytes to send, undefined for none, or a promise of either. */
export type Answerer = (msg: Buffer) => Buffer | undefined | Promise<Buffer | undefined>;

/** Smallest frame that can hold a DNS header. */
const MIN_FRAME = 12;

/**
 * Serves queries arriving on conn until it closes. Frames too short to be a query, too many queries
 * waiting at once, or an idle client end the connection: a stalled or hostile client costs one socket.
 */
export function serveTcpConnection(conn: net.Socket, answer: Answerer): void {
  let pending: Buffer = Buffer.alloc(0);
  let waiting = 0;
  conn.setNoDelay(true);
  conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  const send = (resp: Buffer | undefined) => {
    waiting--;
    if (!resp || conn.destroyed) return;
    const frame = Buffer.allocUnsafe(2 + resp.length);
    frame.writeUInt16BE(resp.length, 0);
    resp.copy(frame, 2);
    conn.write(frame);
  };
  conn.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (len < MIN_FRAME) return void conn.destroy();
      if (pending.length < 2 + len) break;
      if (++waiting > MAX_TCP_PIPELINE) return void conn.destroy();
      // A copy: the answer may outlive this chunk (forwarding), and the chunk may be reused.
      const msg = Buffer.from(pending.subarray(2, 2 + len));
      pending = pending.subarray(2 + len);
      let out: ReturnType<Answerer>;
      try {
        out = answer(msg);
      } catch {
        out = undefined;
      }
      if (out instanceof Promise) out.then(send, () => send(undefined));
      else send(out);
    }
  });
}
