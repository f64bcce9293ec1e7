/**
 * The daemon's CLI socket (`<state-dir>/cli.sock`, mode 0600): the thin client hands it a command
 * line and the daemon runs it as `tsnet` would, over its open controller, into buffers sent back
 * whole — same stdout, stderr and exit status, without a node start, module load or store open per
 * command (Docker's CLI → dockerd). Commands the daemon cannot run exactly as the client would
 * (routeCommand) are declined, and the client runs them itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ExecSocket, serveExecSocket } from '../../plugins/shared/exec-socket';
import { ChunkReader } from '../../plugins/shared/framing';
import { type Controller, daemonConfigCopy, log } from '../index';
import { withCliContext } from './io';
import { runCli } from './main';
import { ACK_CHANGE, ACK_READ_ONLY, BEHAVIOUR_ENV, CLI_SOCKET, type CliRequest, type DaemonIdentity, decodeCliRequest, encodeCliReply, routeCommand } from './wire';

const debug = log('tsnet:cli:server');
/** A client that does not send its whole request within this is dropped (the shim sends it at once). */
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Commands running at once; the rest wait their turn (acked, so their clients wait too). As for the
 * CNI socket (plugins/cni/server.ts MAX_RUNNING): a command's kernel calls are synchronous, so
 * hundreds interleaved on the daemon's one event loop starve each other, and the daemon's other
 * sockets with them; a bounded set finishes as fast and keeps each command's latency its own. No
 * command the daemon runs waits for another one (run, sandbox exec and daemon are declined), so a
 * queue cannot deadlock.
 */
export const MAX_RUNNING = 16;

/** The daemon as clients are compared with it (the parts that do not change while it runs). */
function identity(stateDir: string): Omit<DaemonIdentity, 'config'> {
  return {
    stateDir,
    env: Object.fromEntries(BEHAVIOUR_ENV.map((k) => [k, process.env[k]])),
    netns: String(fs.statSync('/proc/self/ns/net').ino),
    mntns: String(fs.statSync('/proc/self/ns/mnt').ino),
  };
}

/** The config the daemon runs with and the copy a direct command would take, now (a SIGHUP may change both). */
function configNow(controller: Controller): DaemonIdentity['config'] {
  const copy = daemonConfigCopy(controller.stateDir);
  return { running: JSON.stringify(controller.config), copy: copy && JSON.stringify(copy) };
}

/** Runs one command into buffers, with the daemon's controller. */
async function runBuffered(controller: Controller, req: CliRequest): Promise<Buffer> {
  const stdout: Buffer[] = [], stderr: Buffer[] = [];
  const sink = (to: Buffer[]) => ({ write: (s: string | Uint8Array) => to.push(Buffer.from(s)) });
  let code: number;
  try {
    code = await withCliContext({ stdout: sink(stdout), stderr: sink(stderr), controller }, () => runCli(req.argv));
  } catch (e) {
    // runCli reports every failure itself; this is main's last resort, in reply form.
    stderr.push(Buffer.from(`tsnet: ${(e as Error)?.message ?? String(e)}\n`));
    code = 1;
  }
  return encodeCliReply(code, Buffer.concat(stdout), Buffer.concat(stderr));
}

/** Serves tsnet commands on <state-dir>/cli.sock until close(). */
export async function startCliServer(opts: { controller: Controller; socketPath?: string }): Promise<ExecSocket> {
  const socketPath = opts.socketPath ?? path.join(opts.controller.stateDir, CLI_SOCKET);
  const self = identity(opts.controller.stateDir);
  const server = await serveExecSocket<CliRequest>({
    socketPath, limit: MAX_RUNNING, requestTimeoutMs: REQUEST_TIMEOUT_MS, debug,
    reader: () => new ChunkReader(decodeCliRequest),
    accept(req) {
      const route = routeCommand(req, { ...self, config: configNow(opts.controller) });
      // Declined: closed without an ack, so the client runs the command itself.
      if (route === 'decline') return undefined;
      return route === 'read-only' ? ACK_READ_ONLY : ACK_CHANGE;
    },
    serve: (req) => runBuffered(opts.controller, req),
  });
  debug(`serving tsnet commands on ${socketPath}`);
  return server;
}
