/** `tsnet daemon`: the resident part of tsnet — the embedded resolver (and engine plugin sockets) for one state directory. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Controller } from '../controller/controller';
import { ConflictError } from '../errors';
import { log } from '../log';
import { alive, daemonPaths } from './paths';

const debug = log('tsnet:daemon');

/** A running daemon. */
export interface DaemonHandle {
  /** The daemon's controller, for faces it hosts (the Docker plugin). */
  readonly controller: Controller;
  /** Applies the store to the resolver now, as the control socket's "sync" does (for faces the daemon hosts). */
  sync(): Promise<void>;
  /** Stops serving and removes the pid file and socket. */
  close(): Promise<void>;
}

/** Claims the pid file, refusing when a live daemon holds it. */
function claimPidFile(file: string): void {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid && alive(pid)) throw new ConflictError(`a tsnet daemon already runs for this state directory (pid ${pid})`);
  } catch (err) {
    if (err instanceof ConflictError) throw err;
  }
  fs.writeFileSync(file, String(process.pid));
}

/** Starts the daemon of stateDir: resolver kept in step with the store, and a control socket answering "sync". */
export async function runDaemon(opts: { stateDir?: string } = {}): Promise<DaemonHandle> {
  const controller = await Controller.open({ stateDir: opts.stateDir, resolver: 'none' });
  const paths = daemonPaths(controller.stateDir);
  claimPidFile(paths.pid);
  const resolver = await controller.startResolver();
  fs.rmSync(paths.socket, { force: true });
  const control = net.createServer((c) => {
    c.on('data', (d) => {
      if (String(d).trim() === 'sync') void resolver.reconcile().then(() => c.end('ok\n'));
      else c.end('error: unknown command\n');
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => control.listen(paths.socket, resolve));
  fs.chmodSync(paths.socket, 0o600);
  debug(`serving ${controller.stateDir} (pid ${process.pid})`);
  return {
    controller,
    sync: () => resolver.reconcile(),
    async close() {
      control.close();
      await resolver.close();
      fs.rmSync(paths.socket, { force: true });
      fs.rmSync(paths.pid, { force: true });
      controller.close();
    },
  };
}
