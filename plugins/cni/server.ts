/**
 * The daemon's CNI socket (`${stateDir}/cni.sock`, mode 0600): the exec shim hands over one command
 * per connection (see wire.ts) and the daemon runs the plugin's own runCni over its open Controller,
 * so a command costs no node start, module load or store open. Same handlers, same output, same
 * exit codes as the node binary; requests run concurrently, as a runtime's parallel execs would, up
 * to MAX_RUNNING at once.
 */
import * as path from 'node:path';
import { type Controller, log } from '../../src/index';
import { cniFraming, type ExecSocket, serveExecSocket } from '../shared/exec-socket';
import { CniCode, CniError, errorJson } from './codes';
import { tsnetHandlers } from './handlers';
import { runCni } from './skel';
import { LATEST_VERSION } from './version';
import type { WireReply, WireRequest } from './wire';

const debug = log('tsnet:cni:server');

/** The socket's name in the state directory; the shim looks for it there. */
export const CNI_SOCKET = 'cni.sock';
/**
 * Commands running at once; the rest wait their turn (acked, so their shims wait too). A command's
 * kernel calls are synchronous, so hundreds interleaved on one event loop starve each other: every
 * step of every command, a resolver sync's reply included, waits behind the steps of all the others
 * (500 parallel ADDs timed out their 15 s syncs this way). A bounded set finishes as fast and keeps
 * each command's latency its own.
 */
export const MAX_RUNNING = 16;

/** What startCniServer needs: the daemon's controller (the caller closes it) and its resolver sync. */
export interface CniServerOptions {
  controller: Controller;
  /** Default: cni.sock in the controller's state directory. */
  socketPath?: string;
  /** Applies the store to the daemon's resolver (DaemonHandle.sync), for configs that want the embedded resolver. */
  syncResolver?: () => Promise<void>;
}

/** A serving CNI socket: close() stops accepting, waits for the commands already running, removes the socket. */
export type CniServer = ExecSocket;

/** Serves CNI commands on the socket until close(). */
export async function startCniServer(opts: CniServerOptions): Promise<CniServer> {
  const socketPath = opts.socketPath ?? path.join(opts.controller.stateDir, CNI_SOCKET);
  const handlers = tsnetHandlers({ controller: opts.controller, syncResolver: opts.syncResolver });

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

  const server = await serveExecSocket({
    socketPath, limit: MAX_RUNNING, ...cniFraming(serve), debug,
    describe: (req) => `${req.env.CNI_COMMAND ?? '?'} ${req.env.CNI_CONTAINERID ?? ''} ${req.env.CNI_IFNAME ?? ''}`,
  });
  debug(`serving CNI on ${socketPath}`);
  return server;
}
