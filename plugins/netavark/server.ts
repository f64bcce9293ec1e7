/**
 * The daemon's netavark socket (`${stateDir}/netavark.sock`, mode 0600): the installed helper hands
 * one call per connection to the daemon, which runs it over its open Controller, so a call costs no
 * module load or store open. Same framing as the CNI socket (plugins/cni/wire.ts); the request's
 * environment carries the helper's argv as TSNET_NETAVARK_ARGV (JSON). Same output and exit codes as
 * the helper running it itself.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { type Controller, log } from '../../src/index';
import { ACK, encodeReply, RequestReader, type WireReply, type WireRequest } from '../cni/wire';
import { errorJson } from './errors';
import { runNetavark } from './run';

const debug = log('tsnet:netavark:server');

/** The socket's name in the state directory; the helper looks for it there. */
export const NETAVARK_SOCKET = 'netavark.sock';
/** The request variable holding the helper's argv. */
export const ARGV_VARIABLE = 'TSNET_NETAVARK_ARGV';
/** A client that does not finish its request within this is dropped (the helper sends it at once). */
const REQUEST_TIMEOUT_MS = 30_000;

/** What startNetavarkServer needs: the daemon's controller (the caller closes it) and its resolver sync. */
export interface NetavarkServerOptions {
  controller: Controller;
  socketPath?: string;
  syncResolver?: () => Promise<void>;
}

/** Serves netavark calls until close(). */
export async function startNetavarkServer(opts: NetavarkServerOptions): Promise<{ socketPath: string; close(): Promise<void> }> {
  const socketPath = opts.socketPath ?? path.join(opts.controller.stateDir, NETAVARK_SOCKET);
  const running = new Set<Promise<void>>();
  const reading = new Set<net.Socket>();
  // One call at a time, as podman (holding its network lock) makes them: setups of one network never race its teardown.
  let queue: Promise<unknown> = Promise.resolve();

  async function serve(req: WireRequest): Promise<WireReply> {
    let stdout = '';
    try {
      const argv = JSON.parse(req.env[ARGV_VARIABLE] ?? '[]') as string[];
      const code = await runNetavark(argv, {
        env: req.env, readStdin: async () => req.stdin.toString('utf8'), stdout: { write: (s: string) => (stdout += s) },
        controller: opts.controller, syncResolver: opts.syncResolver,
      });
      return { code, stdout, stderr: '' };
    } catch (err) {
      return { code: 1, stdout: `${errorJson(`tsnet-netavark daemon: ${(err as Error)?.message ?? String(err)}`)}\n`, stderr: '' };
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
        // No ack: the helper then runs the call itself, and reports what is wrong with it.
        debug(`bad request: ${(err as Error).message}`);
        c.destroy();
        return;
      }
      if (!req) return;
      const request = req;
      reading.delete(c);
      c.off('data', onData);
      c.setTimeout(0);
      c.write(ACK);
      const done: Promise<void> = (queue = queue.catch(() => undefined).then(() => serve(request))).then((reply) => {
        if (!c.destroyed) c.end(encodeReply(reply as WireReply));
      }).finally(() => running.delete(done));
      running.add(done);
    };
    c.on('data', onData);
  });
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
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
  debug(`serving netavark calls on ${socketPath}`);
  return {
    socketPath,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of reading) c.destroy();
      await Promise.allSettled([...running]);
      await closed;
      fs.rmSync(socketPath, { force: true });
    },
  };
}
