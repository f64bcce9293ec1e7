/**
 * Global-scope operations of one-shot commands go through the local daemon, which holds the host's
 * cluster-store session and lease (Docker's CLI → dockerd): a line of JSON per request on
 * `<state-dir>/ctl.sock`, `{"method", "args"}` → `{"result"}` or `{"error": {"kind", "message"}}`,
 * errors rebuilt with their kind so exit codes stay what they would be in-process.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Controller } from '../controller/controller';
import {
  ConflictError, describe, ErrorKind, ExhaustedError, InternalError, InvalidArgumentError, kindOf, NotFoundError, type TsnetError, UnavailableError, UnsupportedError,
} from '../errors';

/** The daemon's controller socket in a state directory. */
export const ctlSocket = (stateDir: string) => path.join(stateDir, 'ctl.sock');

/** What a one-shot controller forwards (the Controller methods of the same names). */
export const FORWARDED = [
  'createNetwork', 'deleteNetwork', 'getNetwork', 'listNetworks', 'inspectNetwork', 'networkEndpoints',
  'createSandbox', 'deleteSandbox', 'connect', 'disconnect', 'sandboxEndpoints', 'inspectSandbox',
] as const;
/** A forwarded method's name. */
export type ForwardedMethod = (typeof FORWARDED)[number];

/** How a one-shot controller reaches the daemon's. */
export interface RemoteController {
  call<T>(method: ForwardedMethod, args: unknown[]): Promise<T>;
}

const ERRORS: Record<ErrorKind, new (msg: string) => TsnetError> = {
  [ErrorKind.InvalidArgument]: InvalidArgumentError, [ErrorKind.NotFound]: NotFoundError, [ErrorKind.Conflict]: ConflictError,
  [ErrorKind.Exhausted]: ExhaustedError, [ErrorKind.Unsupported]: UnsupportedError, [ErrorKind.Unavailable]: UnavailableError, [ErrorKind.Internal]: InternalError,
};

/** Serves controller calls on ctl.sock until close(). */
export async function serveControllerRpc(controller: Controller): Promise<{ close(): Promise<void> }> {
  const socket = ctlSocket(controller.stateDir);
  fs.rmSync(socket, { force: true });
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      void answer(controller, line).then((reply) => c.end(JSON.stringify(reply) + '\n'));
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  fs.chmodSync(socket, 0o600);
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      fs.rmSync(socket, { force: true });
    }),
  };
}

async function answer(controller: Controller, line: string): Promise<unknown> {
  try {
    const req = JSON.parse(line) as { method: ForwardedMethod; args: unknown[] };
    if (!FORWARDED.includes(req.method) || !Array.isArray(req.args)) throw new InvalidArgumentError(`daemon: unknown call ${String(req.method)}`);
    const fn = controller[req.method] as (...a: unknown[]) => Promise<unknown>;
    return { result: (await fn.apply(controller, req.args)) ?? null };
  } catch (err) {
    return { error: { kind: kindOf(err), message: describe(err) } };
  }
}

/** The client of a state directory's daemon; a daemon that is not running is Unavailable, naming it. */
export function remoteController(stateDir: string, timeoutMs = 60_000): RemoteController {
  const socket = ctlSocket(stateDir);
  return {
    call<T>(method: ForwardedMethod, args: unknown[]): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const c = net.connect(socket);
        let buf = '';
        c.setTimeout(timeoutMs, () => c.destroy(new InternalError(`tsnet daemon: no answer to ${method} within ${timeoutMs} ms`)));
        c.on('connect', () => c.write(JSON.stringify({ method, args }) + '\n'));
        c.on('data', (d) => (buf += d));
        c.on('end', () => {
          try {
            const reply = JSON.parse(buf) as { result?: T; error?: { kind: ErrorKind; message: string } };
            if (reply.error) reject(new ERRORS[reply.error.kind](reply.error.message));
            else resolve(reply.result as T);
          } catch {
            reject(new InternalError(`tsnet daemon: ${method}: no reply (did it exit?)`));
          }
        });
        c.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new UnavailableError(`this host's tsnet daemon does not run (${socket}): global-scope operations go through it; start \`tsnet daemon\``));
          else reject(err instanceof InternalError ? err : new InternalError(`tsnet daemon: ${err.message}`));
        });
      });
    },
  };
}
