/**
 * The daemon's netavark socket (`${stateDir}/netavark.sock`, mode 0600): the installed helper hands
 * one call per connection to the daemon, which runs it over its open Controller, so a call costs no
 * module load or store open. Same framing as the CNI socket (plugins/cni/wire.ts); the request's
 * environment carries the helper's argv as TSNET_NETAVARK_ARGV (JSON). Same output and exit codes as
 * the helper running it itself.
 */
import * as path from 'node:path';
import { type Controller, log } from '../../src/index';
import type { WireReply, WireRequest } from '../cni/wire';
import { cniFraming, type ExecSocket, serveExecSocket } from '../shared/exec-socket';
import { errorJson } from './errors';
import { runNetavark } from './run';

const debug = log('tsnet:netavark:server');

/** The socket's name in the state directory; the helper looks for it there. */
export const NETAVARK_SOCKET = 'netavark.sock';
/** The request variable holding the helper's argv. */
export const ARGV_VARIABLE = 'TSNET_NETAVARK_ARGV';

/** What startNetavarkServer needs: the daemon's controller (the caller closes it) and its resolver sync. */
export interface NetavarkServerOptions {
  controller: Controller;
  socketPath?: string;
  syncResolver?: () => Promise<void>;
}

/** Serves netavark calls until close(). */
export async function startNetavarkServer(opts: NetavarkServerOptions): Promise<ExecSocket> {
  const socketPath = opts.socketPath ?? path.join(opts.controller.stateDir, NETAVARK_SOCKET);

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

  // One call at a time, as podman (holding its network lock) makes them: setups of one network never race its teardown.
  const server = await serveExecSocket({ socketPath, limit: 1, ...cniFraming(serve), debug });
  debug(`serving netavark calls on ${socketPath}`);
  return server;
}
