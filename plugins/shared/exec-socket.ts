/**
 * The daemon side of an exec shim's socket (the CNI and netavark faces): a unix socket of mode 0600
 * in the state directory, one request per connection in the framing of plugins/cni/wire.ts. A
 * request read whole is acked, run through the face's serve() in turn (at most `limit` at once, the
 * rest in arrival order) and answered; a malformed one is dropped unacked, so its shim runs the call
 * through node, which reports what is wrong with it.
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

/** How serveExecSocket runs a face's requests. */
export interface ExecSocketOptions {
  socketPath: string;
  /** Calls running at once; the rest wait their turn (acked, so their shims wait too). */
  limit: number;
  /** Runs one request; never rejects (a failure is a reply with its error, as the face's binary prints it). */
  serve(req: WireRequest): Promise<WireReply>;
  /** Logs a line (the face's debug logger). */
  debug(line: string): void;
  /** What a request is, for the debug log when it is acked; nothing logged without it. */
  describe?(req: WireRequest): string;
}

/** A serving socket. */
export interface ExecSocket {
  readonly socketPath: string;
  /** Stops accepting, waits for the calls already running, removes the socket. */
  close(): Promise<void>;
}

/** Serves the socket until close(). */
export async function serveExecSocket(opts: ExecSocketOptions): Promise<ExecSocket> {
  const { socketPath, debug } = opts;
  const running = new Set<Promise<void>>();
  const inTurn = limiter(opts.limit);
  /** Connections whose request is not complete yet: close() drops them, as nothing of theirs has run. */
  const reading = new Set<net.Socket>();

  const server = net.createServer((c) => {
    const reader = new RequestReader();
    reading.add(c);
    c.once('close', () => reading.delete(c));
    c.setTimeout(REQUEST_TIMEOUT_MS, () => c.destroy());
    c.on('error', (err) => debug(`connection: ${err.message}`));
    const onData = (chunk: Buffer) => {
      let req: WireRequest | undefined;
      try {
        req = reader.push(chunk);
      } catch (err) {
        // No ack: the shim then runs the call through node, which reports what is wrong with it.
        debug(`bad request: ${(err as Error).message}`);
        c.destroy();
        return;
      }
      if (!req) return;
      const request = req;
      reading.delete(c);
      c.off('data', onData);
      // A call may wait for locks as long as it would in its own process.
      c.setTimeout(0);
      c.write(ACK);
      if (opts.describe) debug(opts.describe(request));
      const done: Promise<void> = inTurn(() => opts.serve(request)).then((reply) => {
        // The shim may be gone (killed by its runtime): the call has run all the same, as a killed plugin's would not have.
        if (!c.destroyed) c.end(encodeReply(reply));
      }).finally(() => running.delete(done));
      running.add(done);
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
