/**
 * The daemon's CLI socket (`<state-dir>/cli.sock`, mode 0600): the thin client hands it a command
 * line and the daemon runs it as `tsnet` would, over its open controller, into buffers sent back
 * whole — same stdout, stderr and exit status, without a node start, module load or store open per
 * command (Docker's CLI → dockerd). Commands the daemon cannot run exactly as the client would
 * (routeCommand) are declined, and the client runs them itself.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { type Controller, daemonConfigCopy, log } from '../index';
import { withCliContext } from './io';
import { runCli } from './main';
import { ACK_CHANGE, ACK_READ_ONLY, BEHAVIOUR_ENV, CLI_SOCKET, type CliRequest, type DaemonIdentity, decodeCliRequest, encodeCliReply, routeCommand } from './wire';

const debug = log('tsnet:cli:server');
/** A client that does not send its whole request within this is dropped (the shim sends it at once). */
const REQUEST_TIMEOUT_MS = 10_000;

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
export async function startCliServer(opts: { controller: Controller; socketPath?: string }): Promise<{ socketPath: string; close(): Promise<void> }> {
  const socketPath = opts.socketPath ?? path.join(opts.controller.stateDir, CLI_SOCKET);
  const self = identity(opts.controller.stateDir);
  const running = new Set<Promise<void>>();
  const reading = new Set<net.Socket>();
  const server = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    reading.add(c);
    c.once('close', () => reading.delete(c));
    c.setTimeout(REQUEST_TIMEOUT_MS, () => c.destroy());
    c.on('error', (e) => debug(`connection: ${e.message}`));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let req: CliRequest | undefined;
      try {
        req = decodeCliRequest(buf);
      } catch (e) {
        debug(`bad request: ${(e as Error).message}`);
        c.destroy();
        return;
      }
      if (!req) return;
      reading.delete(c);
      c.off('data', onData);
      const route = routeCommand(req, { ...self, config: configNow(opts.controller) });
      // Declined: closed without an ack, so the client runs the command itself.
      if (route === 'decline') {
        c.end();
        return;
      }
      c.setTimeout(0);
      c.write(route === 'read-only' ? ACK_READ_ONLY : ACK_CHANGE);
      const done: Promise<void> = runBuffered(opts.controller, req).then((reply) => {
        // A client that went away (killed) leaves the command run all the same, as dockerd does.
        if (!c.destroyed) c.end(reply);
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
      server.listen(socketPath, () => { server.off('error', reject); resolve(); });
    } finally {
      process.umask(umask);
    }
  });
  fs.chmodSync(socketPath, 0o600);
  debug(`serving tsnet commands on ${socketPath}`);
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
