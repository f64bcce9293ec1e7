/**
 * `tsnet daemon`: the resident part of tsnet for one state directory — the embedded resolver plus
 * the resident services a launcher hands it (the CNI fast path, the Docker plugin), composed here:
 * each starts after the resolver, a service that fails to start is reported and skipped (DNS keeps
 * working), and they stop in reverse order.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Controller } from '../controller/controller';
import { startResolver } from '../dns/sync';
import { ConflictError, describe } from '../errors';
import { log } from '../log';
import { alive, daemonPaths } from './paths';

const debug = log('tsnet:daemon');

/** A resident service the daemon hosts (the CNI fast path, the Docker plugin). */
export interface ResidentService {
  /** For messages: "docker plugin", "cni socket". */
  name: string;
  /** Starts serving through the daemon's controller; `sync` applies the model to the resolver now. */
  start(ctx: { controller: Controller; sync(): Promise<void> }): Promise<{ close(): Promise<void> | void }>;
}

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
  // An exclusive create is atomic: of two daemons starting at once, exactly one gets the file.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    // Empty: the winner created the file and has not written its pid yet.
    if (!pid) break;
    if (pid !== process.pid && isTsnetDaemon(pid)) throw new ConflictError(`a tsnet daemon already runs for this state directory (pid ${pid})`);
    // Left by a daemon that died, or by a boot whose pid now belongs to another program.
    fs.rmSync(file, { force: true });
  }
  throw new ConflictError(`another tsnet daemon is starting for this state directory (${file})`);
}

/** Whether pid is a live tsnet daemon, not just any process that reuses an old pid. */
function isTsnetDaemon(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('daemon');
  } catch {
    return false;
  }
}

/** Starts the daemon of stateDir: resolver kept in step with the store, and a control socket answering "sync". */
export async function runDaemon(opts: { stateDir?: string; services?: ResidentService[]; onServiceError?(msg: string): void } = {}): Promise<DaemonHandle> {
  const controller = await Controller.open({ stateDir: opts.stateDir });
  const paths = daemonPaths(controller.stateDir);
  claimPidFile(paths.pid);
  const resolver = await startResolver(controller.dnsSource());
  fs.rmSync(paths.socket, { force: true });
  const control = net.createServer((c) => {
    c.on('data', (d) => {
      // The reply says whether the change is served: a command waiting for it must not report success on a failure.
      if (String(d).trim() === 'sync') void resolver.reconcile().then(() => c.end('ok\n'), (err) => c.end(`error: ${describe(err).replace(/\n/g, ' ')}\n`));
      else c.end('error: unknown command\n');
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => control.listen(paths.socket, resolve));
  fs.chmodSync(paths.socket, 0o600);
  debug(`serving ${controller.stateDir} (pid ${process.pid})`);
  const sync = () => resolver.reconcile();
  const running: { name: string; close(): Promise<void> | void }[] = [];
  for (const service of opts.services ?? []) {
    try {
      running.push({ name: service.name, ...(await service.start({ controller, sync })) });
    } catch (err) {
      (opts.onServiceError ?? debug)(`${service.name} not started: ${describe(err)}`);
    }
  }
  return {
    controller,
    sync,
    async close() {
      for (const service of running.reverse()) await service.close();
      control.close();
      await resolver.close();
      fs.rmSync(paths.socket, { force: true });
      fs.rmSync(paths.pid, { force: true });
      await controller.close();
    },
  };
}
