/**
 * Upstream forwarding: UDP first (TCP when the client asked over TCP), a TCP retry when the UDP
 * answer is truncated, the next server on failure, all inside one time budget so the client always
 * hears back. Sockets are made in the process's own namespace, so the host's upstreams are reachable
 * whatever the sandbox's routes are (Docker's HostLoopback path, for every server).
 */
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { log } from '../log';
import { family } from '../kernel/addr';
import { FORWARD_BUDGET_MS, MAX_FORWARD_INFLIGHT, MAX_TCP_MESSAGE, MAX_UPSTREAMS, MIN_ATTEMPT_MS, RCODE } from './constants';

const debug = log('tsnet:dns:forward');

/** An upstream server address. */
export interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses "ip", "ip:port", "[v6]:port" or a bare v6 literal; undefined when it is none of them. */
export function parseUpstream(text: string): Upstream | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const [host, port] = m ? [m[1], m[2]] : [text, undefined];
  const fam = family(host ?? '');
  const p = port === undefined ? 53 : Number(port);
  if (!fam || !Number.isInteger(p) || p < 1 || p > 65535) return undefined;
  return { host: host!, port: p, family: fam };
}

/** Options of a Forwarder. */
export interface ForwarderOptions {
  /** Total time for one query across all servers (default FORWARD_BUDGET_MS). */
  budgetMs?: number;
  /** Queries in flight at once; beyond it forward() gives up at once (default MAX_FORWARD_INFLIGHT). */
  maxInflight?: number;
}

/** Forwards client queries to upstream servers. */
export class Forwarder {
  private inflight = 0;
  private readonly budgetMs: number;
  private readonly maxInflight: number;
  private readonly sockets = new Set<dgram.Socket | net.Socket>();

  constructor(opts: ForwarderOptions = {}) {
    this.budgetMs = opts.budgetMs ?? FORWARD_BUDGET_MS;
    this.maxInflight = opts.maxInflight ?? MAX_FORWARD_INFLIGHT;
  }

  /**
   * The upstream response to query (a copy of the client's message; questionEnd from its parse),
   * carrying the client's id; undefined when no server gave any answer in time.
   */
  async forward(query: Buffer, questionEnd: number, upstreams: readonly string[], viaTcp: boolean): Promise<Buffer | undefined> {
    if (this.inflight >= this.maxInflight) return undefined;
    this.inflight++;
    try {
      const deadline = Date.now() + this.budgetMs;
      const servers = upstreams.map(parseUpstream).filter((u): u is Upstream => !!u).slice(0, MAX_UPSTREAMS);
      let fallback: Buffer | undefined;
      for (let i = 0; i < servers.length; i++) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        // Share what is left among the servers still to try, but give each a fair chance.
        const slice = Math.max(left / (servers.length - i), Math.min(left, MIN_ATTEMPT_MS));
        const resp = await this.exchange(query, questionEnd, servers[i], viaTcp, slice);
        if (!resp) continue;
        const rcode = resp[3] & 0x0f;
        // As Docker: SERVFAIL, REFUSED and non-authoritative NXDOMAIN may be transient, so try the next server.
        if (rcode === RCODE.NOERROR || (rcode === RCODE.NXDOMAIN && resp[2] & 0x04)) return withId(resp, query);
        fallback = resp;
      }
      return fallback && withId(fallback, query);
    } finally {
      this.inflight--;
    }
  }

  /** Closes every upstream socket still open (server shutdown). */
  close(): void {
    for (const s of this.sockets) s instanceof net.Socket ? s.destroy() : s.close();
    this.sockets.clear();
  }

  /** One server: UDP (or TCP), then TCP when the UDP answer came back truncated. */
  private async exchange(query: Buffer, questionEnd: number, server: Upstream, viaTcp: boolean, timeoutMs: number): Promise<Buffer | undefined> {
    const started = Date.now();
    const q = withId(query, randomBytes(2));
    if (viaTcp) return this.tcpExchange(q, questionEnd, server, timeoutMs);
    const resp = await this.udpExchange(q, questionEnd, server, timeoutMs);
    if (!resp || !(resp[2] & 0x02)) return resp;
    const left = timeoutMs - (Date.now() - started);
    debug(`truncated answer from ${server.host}:${server.port}, retrying over TCP`);
    // Without time for TCP the truncated answer still tells the client to retry over TCP itself.
    return (left > 0 && (await this.tcpExchange(q, questionEnd, server, left))) || resp;
  }

  private udpExchange(q: Buffer, questionEnd: number, server: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
      this.sockets.add(sock);
      let done = false;
      const finish = (resp?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.sockets.delete(sock);
        try {
          sock.close();
        } catch {
          // Already closed by close().
        }
        resolve(resp);
      };
      const timer = setTimeout(() => finish(), timeoutMs);
      // Connected, so an ICMP port unreachable surfaces as ECONNREFUSED at once instead of a timeout.
      sock.on('error', (err) => {
        debug(`udp ${server.host}:${server.port}: ${err.message}`);
        finish();
      });
      sock.on('close', () => finish());
      // Anything not matching our id and question is ignored: a spoofer must guess both.
      sock.on('message', (resp) => {
        if (isAnswerTo(resp, q, questionEnd)) finish(resp);
      });
      sock.connect(server.port, server.host, (err?: Error) => {
        if (err) return finish();
        sock.send(q, (sendErr) => sendErr && finish());
      });
    });
  }

  private tcpExchange(q: Buffer, questionEnd: number, server: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: server.host, port: server.port });
      this.sockets.add(sock);
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (resp?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.sockets.delete(sock);
        sock.destroy();
        resolve(resp);
      };
      const timer = setTimeout(() => finish(), timeoutMs);
      sock.on('error', (err) => {
        debug(`tcp ${server.host}:${server.port}: ${err.message}`);
        finish();
      });
      sock.on('close', () => finish());
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(q.length);
        // write, not end: some servers take a half-closed connection for a client that went away.
        sock.write(Buffer.concat([len, q]));
      });
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length > 2 + MAX_TCP_MESSAGE) return finish();
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const resp = buf.subarray(2, 2 + buf.readUInt16BE(0));
        finish(isAnswerTo(resp, q, questionEnd) ? Buffer.from(resp) : undefined);
      });
    });
  }
}

/** A copy of msg with the id of idSource (a message or two bytes). */
function withId(msg: Buffer, idSource: Buffer): Buffer {
  const out = Buffer.from(msg);
  out[0] = idSource[0];
  out[1] = idSource[1];
  return out;
}

/** Whether resp is a response to q: same id, QR set, same question (letter case aside). */
export function isAnswerTo(resp: Buffer, q: Buffer, questionEnd: number): boolean {
  if (resp.length < questionEnd || resp[0] !== q[0] || resp[1] !== q[1] || !(resp[2] & 0x80)) return false;
  if (resp[4] !== q[4] || resp[5] !== q[5]) return false;
  for (let i = 12; i < questionEnd; i++) {
    const a = resp[i], b = q[i];
    // Upstreams may answer with another letter case (DNS 0x20); only letters may differ, and only in case.
    if (a !== b && ((a | 0x20) !== (b | 0x20) || (a | 0x20) < 0x61 || (a | 0x20) > 0x7a)) return false;
  }
  return true;
}
