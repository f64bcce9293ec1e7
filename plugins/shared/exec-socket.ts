/**
 * The daemon side of an exec shim's socket (the CNI, netavark and CLI faces): a unix socket of mode
 * 0600 in the state directory, one request per connection in the face's framing. A request read
 * whole is accepted (acked, with the face's ack) or declined (closed without an ack, so its client
 * runs the call itself); an accepted one runs through the face's serve() in turn (at most `limit` at
 * once, the rest in arrival order) and is answered. A malformed one is dropped unacked, so its shim
 * runs the call through node, which reports what is wrong with it.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { ACK, encodeReply, RequestReader, type WireReply, type WireRequest } from '../cni/wire';

/** A client that connected but does not finish its request within this is dropped (a shim sends it at once). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Runs tasks with at most `limit` at once, the others in arrival order. */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, so a newcomer cannot overtake it.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Listens on a unix socket created with mode 0600: the umask covers the moment between bind and chmod. */
export async function listenPrivate(server: net.Server, socketPath: string): Promise<void> {
  // A file left by a daemon that died; the pid file already proved no live daemon serves this directory.
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // listen() binds synchronously for a path, so the umask is back before anything else runs.
    const umask = process.umask(0o177);
    try {
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  fs.chmodSync(socketPath, 0o600);
}

/** How serveExecSocket reads, accepts and runs a face's requests. */
export interface ExecSocketOptions<Req> {
  socketPath: string;
  /** Calls running at once; the rest wait their turn (acked, so their shims wait too). */
  limit: number;
  /** Default 30 s: a client that has not sent its whole request by then is dropped. */
  requestTimeoutMs?: number;
  /** A reader for one connection: push(chunk) → the request once whole, undefined before; throws on a malformed one. */
  reader(): { push(chunk: Buffer): Req | undefined };
  /** The ack for a request, or undefined to decline it: closed without an ack, its client runs it itself. */
  accept(req: Req): Buffer | undefined;
  /** Runs one request into the reply sent after the ack; never rejects (a failure is a reply carrying it). */
  serve(req: Req): Promise<Buffer>;
  /** Logs a line (the face's debug logger). */
  debug(line: string): void;
  /** What a request is, for the debug log when it is acked; nothing logged without it. */
  describe?(req: Req): string;
}

/** The reader, ack and reply encoding of plugins/cni/wire.ts (the CNI and netavark faces) around serve. */
export function cniFraming(serve: (req: WireRequest) => Promise<WireReply>): Pick<ExecSocketOptions<WireRequest>, 'reader' | 'accept' | 'serve'> {
  return { reader: () => new RequestReader(), accept: () => ACK, serve: async (req) => encodeReply(await serve(req)) };
}

/** A serving socket. */
export interface ExecSocket {
  readonly socketPath: string;
  /** Stops accepting, waits for the calls already running, removes the socket. */
  close(): Promise<void>;
}

/** Serves the socket until close(). */
export async function serveExecSocket<Req>(opts: ExecSocketOptions<Req>): Promise<ExecSocket> {
  const { socketPath, debug } = opts;
  const running = new Set<Promise<void>>();
  const inTurn = limiter(opts.limit);
  /** Connections whose request is not complete yet: close() drops them, as nothing of theirs has run. */
  const reading = new Set<net.Socket>();

  /** A whole request: declined, or acked and run in turn. */
  const take = (c: net.Socket, request: Req) => {
    const ack = opts.accept(request);
    if (!ack) {
      c.end();
      return;
    }
    // A call may wait for locks as long as it would in its own process.
    c.setTimeout(0);
    c.write(ack);
    if (opts.describe) debug(opts.describe(request));
    const done: Promise<void> = inTurn(() => opts.serve(request)).then((reply) => {
      // The client may be gone (killed): the call has run all the same, as a killed process's would not have.
      if (!c.destroyed) c.end(reply);
    }).finally(() => running.delete(done));
    running.add(done);
  };

  const server = net.createServer((c) => {
    const reader = opts.reader();
    reading.add(c);
    c.once('close', () => reading.delete(c));
    c.setTimeout(opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, () => c.destroy());
    c.on('error', (err) => debug(`connection: ${err.message}`));
    const onData = (chunk: Buffer) => {
      let req: Req | undefined;
      try {
        req = reader.push(chunk);
      } catch (err) {
        // No ack: the shim then runs the call through node, which reports what is wrong with it.
        debug(`bad request: ${(err as Error).message}`);
        c.destroy();
        return;
      }
      if (req === undefined) return;
      reading.delete(c);
      c.off('data', onData);
      take(c, req);
    };
    c.on('data', onData);
  });
  await listenPrivate(server, socketPath);
  return {
    socketPath,
    async close() {
      // Unacked clients fall back to node; calls already acked finish and answer first.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of reading) c.destroy();
      await Promise.allSettled([...running]);
      await closed;
      fs.rmSync(socketPath, { force: true });
    },
  };
}
