/**
 * The daemon's CNI socket (`${stateDir}/cni.sock`, mode 0600): the exec shim hands over one command
 * per connection (see wire.ts) and the daemon runs the plugin's own runCni over its open Controller,
 * so a command costs no node start, module load or store open. Same handlers, same output, same
 * exit codes as the node binary; requests run concurrently, as a runtime's parallel execs would, up
 * to MAX_RUNNING at once.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { type Controller, log } from '../../src/index';
import { CniCode, CniError, errorJson } from './codes';
import { tsnetHandlers } from './handlers';
import { runCni } from './skel';
import { LATEST_VERSION } from './version';
import { ACK, encodeReply, RequestReader, type WireReply, type WireRequest } from './wire';

const debug = log('tsnet:cni:server');

/** The socket's name in the state directory; the shim looks for it there. */
export const CNI_SOCKET = 'cni.sock';
/** A client that connected but does not finish its request within this is dropped (a shim sends it at once). */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Commands running at once; the rest wait their turn (acked, so their shims wait too). A command's
 * kernel calls are synchronous, so hundreds interleaved on one event loop starve each other: every
 * step of every command, a resolver sync's reply included, waits behind the steps of all the others
 * (500 parallel ADDs timed out their 15 s syncs this way). A bounded set finishes as fast and keeps
 * each command's latency its own.
 */
export const MAX_RUNNING = 16;

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

/** What startCniServer needs: the daemon's controller (the caller closes it) and its resolver sync. */
export interface CniServerOptions {
  controller: Controller;
  /** Default: cni.sock in the controller's state directory. */
  socketPath?: string;
  /** Applies the store to the daemon's resolver (DaemonHandle.sync), for configs that want the embedded resolver. */
  syncResolver?: () => Promise<void>;
}

/** A serving CNI socket. */
export interface CniServer {
  readonly socketPath: string;
  /** Stops accepting, waits for the commands already running, removes the socket. */
  close(): Promise<void>;
}

/** Listens on a unix socket created with mode 0600: the umask covers the moment between bind and chmod. */
async function listenPrivate(server: net.Server, socketPath: string): Promise<void> {
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

/** Serves CNI commands on the socket until close(). */
export async function startCniServer(opts: CniServerOptions): Promise<CniServer> {
  const socketPath = opts.socketPath ?? path.join(opts.controller.stateDir, CNI_SOCKET);
  const handlers = tsnetHandlers({ controller: opts.controller, syncResolver: opts.syncResolver });
  const running = new Set<Promise<void>>();
  const inTurn = limiter(MAX_RUNNING);
  /** Connections whose request is not complete yet: close() drops them, as nothing of theirs has run. */
  const reading = new Set<net.Socket>();

  /** One command, exactly as main.ts runs it, with the request's variables as the whole environment. */
  async function serve(req: WireRequest): Promise<WireReply> {
    let stdout = '', stderr = '';
    try {
      const code = await runCni(handlers, { env: req.env, stdin: req.stdin, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
      return { code, stdout, stderr };
    } catch (err) {
      // runCni answers every failure itself; this is the binary's last-resort handler (main.ts) in reply form.
      const e = new CniError(CniCode.Internal, `tsnet-cni daemon: ${(err as Error)?.message ?? String(err)}`);
      return { code: 1, stdout: JSON.stringify(errorJson(e, LATEST_VERSION)) + '\n', stderr: `tsnet-cni: ${(err as Error)?.stack ?? String(err)}\n` };
    }
  }

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
        // No ack: the shim then runs the command through node, which reports what is wrong with it.
        debug(`bad request: ${(err as Error).message}`);
        c.destroy();
        return;
      }
      if (!req) return;
      reading.delete(c);
      c.off('data', onData);
      // A command may wait for locks as long as it would in its own process.
      c.setTimeout(0);
      c.write(ACK);
      debug(`${req.env.CNI_COMMAND ?? '?'} ${req.env.CNI_CONTAINERID ?? ''} ${req.env.CNI_IFNAME ?? ''}`);
      const done: Promise<void> = inTurn(() => serve(req)).then((reply) => {
        // The shim may be gone (killed by its runtime): the command has run all the same, as a killed plugin's would not have.
        if (!c.destroyed) c.end(encodeReply(reply));
      }).finally(() => running.delete(done));
      running.add(done);
    };
    c.on('data', onData);
  });
  await listenPrivate(server, socketPath);
  debug(`serving CNI on ${socketPath}`);
  return {
    socketPath,
    async close() {
      // Unacked clients fall back to node; commands already acked finish and answer first.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of reading) c.destroy();
      await Promise.allSettled([...running]);
      await closed;
      fs.rmSync(socketPath, { force: true });
    },
  };
}
