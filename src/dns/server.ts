/**
 * DnsServer: the embedded resolver's transport. It listens on UDP and TCP (inside sandbox
 * namespaces at 127.0.0.11:53, or on plain addresses), answers from a DnsBackend through a decision
 * cache, and forwards the rest upstream. It holds no record logic.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { InternalError } from '../errors';
import { log } from '../log';
import { DecisionCache } from './answer';
import { type DnsBackend, type Requester, requesterKey } from './backend';
import { DNS_LISTEN_ADDRESS, DNS_PORT, MAX_TCP_CONNECTIONS, RCODE } from './constants';
import { Forwarder } from './forward';
import { boundSocketInNetns, closeFd } from './listen';
import { buildResponse, errorResponse, maxResponseSize, type QueryShape, rcodeResponse, truncatedResponse } from './response';
import { type Answerer, serveTcpConnection } from './tcp';
import { ParseResult, parseQuery, QueryView } from './wire';

const debug = log('tsnet:dns:server');

/** Options of a DnsServer. */
export interface DnsServerOptions {
  /** Where names come from (a DnsRecords). */
  backend: DnsBackend;
  /** Total time for forwarding one query before the client gets SERVFAIL (default 1800 ms). */
  forwardBudgetMs?: number;
}

/** A plain listening address; requester fixes who asks, otherwise the source address does. */
export interface ListenSpec {
  address: string;
  /** 0 picks a free port, the same for UDP and TCP. */
  port: number;
  requester?: Requester;
}

/** Who the queries of one listener come from: fixed, or (requester undefined) the source address. */
interface Scope {
  key: string;
  requester?: Requester;
}

/** One UDP socket and one TCP server answering for a scope. */
interface Listener {
  scope: Scope;
  udp: dgram.Socket;
  tcp: net.Server;
  conns: Set<net.Socket>;
  nsPath?: string;
}

/** Tries for a port free on both UDP and TCP when asked for port 0. */
const PORT_TRIES = 8;

/** The embedded DNS resolver's transport: start/stop, per-sandbox listeners, query handling. */
export class DnsServer {
  private readonly backend: DnsBackend;
  private readonly cache: DecisionCache;
  private readonly forwarder: Forwarder;
  /** Reused for every query: decoding allocates no message object. */
  private readonly view = new QueryView();
  private readonly plain: Listener[] = [];
  private readonly sandboxes = new Map<string, Listener>();
  /** The last listen/unlisten of each sandbox, so calls for one sandbox run one after another. */
  private readonly ops = new Map<string, Promise<unknown>>();

  constructor(opts: DnsServerOptions) {
    this.backend = opts.backend;
    this.cache = new DecisionCache(opts.backend);
    this.forwarder = new Forwarder({ budgetMs: opts.forwardBudgetMs });
  }

  /** Listens on plain addresses (tests, or a shared listener on a gateway). Sandboxes use listenInNetns. */
  async start(opts: { listen?: ListenSpec[] } = {}): Promise<void> {
    for (const spec of opts.listen ?? []) {
      const scope: Scope = spec.requester ? { key: requesterKey(spec.requester), requester: spec.requester } : { key: '' };
      this.plain.push(await this.openPlain(scope, spec));
    }
  }

  /** Addresses the plain listeners are bound to (UDP and TCP share each port). */
  address(): { address: string; port: number }[] {
    return this.plain.map((l) => {
      const a = l.udp.address();
      return { address: a.address, port: a.port };
    });
  }

  /**
   * Serves the sandbox: listens at address:port (default 127.0.0.11:53) inside the namespace at
   * nsPath, answering as sandboxId. Loopback must be up there. Listening again with the same path is a no-op.
   */
  listenInNetns(nsPath: string, sandboxId: string, opts: { address?: string; port?: number } = {}): Promise<void> {
    return this.serially(sandboxId, () => this.listenNow(nsPath, sandboxId, opts));
  }

  /** Stops serving the sandbox; unknown sandboxes are ignored (teardown is idempotent). */
  unlisten(sandboxId: string): Promise<void> {
    return this.serially(sandboxId, () => this.unlistenNow(sandboxId));
  }

  private async listenNow(nsPath: string, sandboxId: string, opts: { address?: string; port?: number }): Promise<void> {
    const existing = this.sandboxes.get(sandboxId);
    if (existing?.nsPath === nsPath) return;
    if (existing) await this.unlistenNow(sandboxId);
    const address = opts.address ?? DNS_LISTEN_ADDRESS;
    const port = opts.port ?? DNS_PORT;
    const udpFd = boundSocketInNetns(nsPath, 'udp', address, port);
    let tcpFd: number;
    try {
      tcpFd = boundSocketInNetns(nsPath, 'tcp', address, port);
    } catch (err) {
      closeFd(udpFd);
      throw err;
    }
    const requester = { sandboxId };
    const listener = await this.adopt({ key: requesterKey(requester), requester }, udpFd, tcpFd);
    listener.nsPath = nsPath;
    this.sandboxes.set(sandboxId, listener);
    debug(`listening for sandbox ${sandboxId} at ${address}:${port} in ${nsPath}`);
  }

  private async unlistenNow(sandboxId: string): Promise<void> {
    const listener = this.sandboxes.get(sandboxId);
    if (!listener) return;
    this.sandboxes.delete(sandboxId);
    this.cache.forget(listener.scope.key);
    await closeListener(listener);
  }

  /** Closes every listener and upstream socket. */
  async stop(): Promise<void> {
    const all = [...this.plain.splice(0), ...this.sandboxes.values()];
    this.sandboxes.clear();
    this.forwarder.close();
    const results = await Promise.allSettled(all.map(closeListener));
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    if (errors.length) throw new AggregateError(errors, 'dns server stop: some listeners failed to close');
  }

  /** Runs fn after the previous operation on the same sandbox settled, whatever its outcome. */
  private serially<T>(sandboxId: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.ops.get(sandboxId) ?? Promise.resolve()).then(fn, fn);
    const settled = next.catch(() => undefined);
    this.ops.set(sandboxId, settled);
    void settled.then(() => this.ops.get(sandboxId) === settled && this.ops.delete(sandboxId));
    return next;
  }

  /**
   * Handles one query: the response to send now, undefined to send nothing, or a promise of either
   * (forwarding). sourceIp identifies the requester when the scope does not.
   */
  private handle(msg: Buffer, scope: Scope, sourceIp: string, tcp: boolean): Buffer | undefined | Promise<Buffer | undefined> {
    const view = this.view;
    const parsed = parseQuery(msg, view);
    if (parsed !== ParseResult.Ok) {
      return parsed === ParseResult.Drop ? undefined : errorResponse(msg, parsed === ParseResult.NotImp ? RCODE.NOTIMP : RCODE.FORMERR);
    }
    const requester = scope.requester ?? { ip: sourceIp };
    const key = scope.requester ? scope.key : 'i:' + sourceIp;
    const d = this.cache.get(key, requester, view.wireName, view.qtype, view.qclass);
    if (d.kind === 'local') {
      const start = d.next;
      if (d.records.length > 1) d.next = (start + 1) % d.records.length;
      return buildResponse(msg, view, { rcode: d.rcode, authoritative: true, records: d.records, start }, maxResponseSize(view, tcp));
    }
    if (d.kind === 'fail') return rcodeResponse(msg, view, d.rcode);
    return this.forward(msg, { questionEnd: view.questionEnd, ednsSize: view.ednsSize }, d.upstreams, tcp);
  }

  private async forward(msg: Buffer, shape: QueryShape, upstreams: readonly string[], tcp: boolean): Promise<Buffer> {
    const resp = await this.forwarder.forward(msg, shape.questionEnd, upstreams, tcp);
    if (!resp) return rcodeResponse(msg, shape, RCODE.SERVFAIL);
    // A TCP retry upstream can bring more than this UDP client takes: it must retry over TCP with us.
    return resp.length > maxResponseSize(shape, tcp) ? truncatedResponse(resp, shape.questionEnd) : resp;
  }

  private onDatagram(sock: dgram.Socket, scope: Scope, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let out: ReturnType<Answerer>;
    try {
      out = this.handle(msg, scope, rinfo.address, false);
    } catch (err) {
      // A bug must cost one query, never the resolver.
      debug(`query from ${rinfo.address}: ${(err as Error).message}`);
      return;
    }
    if (out instanceof Promise) out.then((buf) => sendTo(sock, buf, rinfo), (err) => debug(`forward: ${(err as Error).message}`));
    else if (out) sendTo(sock, out, rinfo);
  }

  /** A listener on a plain address; with port 0, UDP and TCP end up on the same free port. */
  private async openPlain(scope: Scope, spec: ListenSpec): Promise<Listener> {
    for (let attempt = 1; ; attempt++) {
      const udp = await this.openUdp(scope, { address: spec.address, port: spec.port });
      const port = udp.address().port;
      const conns = new Set<net.Socket>();
      try {
        return { scope, udp, tcp: await this.openTcp(scope, { host: spec.address, port }, conns), conns };
      } catch (err) {
        udp.close();
        if (spec.port !== 0 || attempt >= PORT_TRIES) throw new InternalError(`dns listener ${spec.address}:${port}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** A listener on descriptors bound inside a namespace; Node owns them once adopted. */
  private async adopt(scope: Scope, udpFd: number, tcpFd: number): Promise<Listener> {
    let udp: dgram.Socket;
    try {
      udp = await this.openUdp(scope, { fd: udpFd });
    } catch (err) {
      closeFd(tcpFd);
      throw err;
    }
    const conns = new Set<net.Socket>();
    try {
      return { scope, udp, tcp: await this.openTcp(scope, { fd: tcpFd }, conns), conns };
    } catch (err) {
      udp.close();
      throw err;
    }
  }

  private openUdp(scope: Scope, bind: { fd: number } | { address: string; port: number }): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (msg, rinfo) => this.onDatagram(sock, scope, msg, rinfo));
      sock.once('error', reject);
      sock.once('listening', () => {
        sock.off('error', reject);
        sock.on('error', (err) => debug(`udp socket: ${err.message}`));
        resolve(sock);
      });
      try {
        sock.bind(bind);
      } catch (err) {
        // Node refused the descriptor, so it is still ours to close.
        if ('fd' in bind) closeFd(bind.fd);
        reject(err);
      }
    });
  }

  /** A TCP server; its connections are tracked in conns so closing the listener can end them. */
  private openTcp(scope: Scope, at: { fd: number } | { host: string; port: number }, conns: Set<net.Socket>): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((conn) => {
        conns.add(conn);
        conn.on('close', () => conns.delete(conn));
        const sourceIp = conn.remoteAddress ?? '';
        serveTcpConnection(conn, (msg) => this.handle(msg, scope, sourceIp, true));
      });
      server.maxConnections = MAX_TCP_CONNECTIONS;
      server.once('error', reject);
      server.listen(at, () => {
        server.off('error', reject);
        server.on('error', (err) => debug(`tcp server: ${err.message}`));
        resolve(server);
      });
    });
  }
}

/** Sends buf to the datagram's source; a socket closed meanwhile (unlisten) just drops it. */
function sendTo(sock: dgram.Socket, buf: Buffer | undefined, rinfo: dgram.RemoteInfo): void {
  if (!buf) return;
  try {
    sock.send(buf, rinfo.port, rinfo.address);
  } catch {
    // ERR_SOCKET_DGRAM_NOT_RUNNING after close: nobody is waiting on this listener any more.
  }
}

/** Closes both sockets of a listener and every TCP client still connected. */
function closeListener(l: Listener): Promise<void> {
  for (const c of l.conns) c.destroy();
  return new Promise((resolve) => {
    let left = 2;
    const done = () => --left === 0 && resolve();
    try {
      l.udp.close(done);
    } catch {
      done();
    }
    l.tcp.close(() => done());
  });
}
