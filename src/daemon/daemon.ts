/**
 * `tsnet daemon`: the resident part of tsnet for one state directory — the embedded resolver plus
 * the resident services a launcher hands it (the CNI fast path, the Docker plugin), composed here:
 * each starts after the resolver, a service that fails to start is reported and skipped (DNS keeps
 * working), and they stop in reverse order.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { DaemonConfig } from '../config';
import { Controller } from '../controller/controller';
import { startResolver } from '../dns/sync';
import { ConflictError, describe } from '../errors';
import { dieWithParent } from '../kernel/libc';
import { log } from '../log';
import { daemonPaths } from './paths';
import { syncResolver } from './client';
import { publishDaemonConfig, withdrawDaemonConfig } from './config-copy';
import { claimPidFile } from './pidfile';
import { serveControllerRpc } from './rpc';
import type { DaemonRole } from './supervisor';

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
  /** Takes a changed config (SIGHUP): logs what was applied and what needs a restart. */
  reload(next: DaemonConfig): Promise<void>;
  /** Applies the store to the resolver now, as the control socket's "sync" does (for faces the daemon hosts). */
  sync(): Promise<void>;
  /** Stops serving and removes the pid file and socket. */
  close(): Promise<void>;
}

/** The resolver with its control socket (`sync` → "ok" once the model is served, or "error: …"). */
async function serveResolver(controller: Controller): Promise<{ sync(): Promise<void>; close(): Promise<void> }> {
  const paths = daemonPaths(controller.stateDir);
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
  return {
    sync: () => resolver.reconcile(),
    async close() {
      control.close();
      await resolver.close();
      fs.rmSync(paths.socket, { force: true });
    },
  };
}

/** Starts each service; one that fails is reported and skipped (DNS keeps working); close() stops them in reverse. */
async function startServices(ctx: { controller: Controller; sync(): Promise<void> }, services: ResidentService[], onError: (msg: string) => void): Promise<{ close(): Promise<void> }> {
  const running: { close(): Promise<void> | void }[] = [];
  for (const service of services) {
    try {
      running.push(await service.start(ctx));
    } catch (err) {
      onError(`${service.name} not started: ${describe(err)}`);
    }
  }
  return {
    async close() {
      for (const service of running.reverse()) await service.close();
    },
  };
}

/** What a daemon runs: its state directory, the services a launcher hands it, where service failures are reported. */
export interface DaemonOptions {
  stateDir?: string;
  /** The daemon config (daemon.json merged with the daemon's own flags); default: daemon.json. */
  config?: DaemonConfig;
  services?: ResidentService[];
  onServiceError?(msg: string): void;
  /** Where the daemon's one-line reports go (a re-shaped default bridge, a reload); default: debug log. */
  onLog?(line: string): void;
}

/** The one line a reload logs: what was applied, what waits for a restart; undefined when nothing changed. */
export function reloadLine(r: { reloaded: string[]; needRestart: string[] }): string | undefined {
  const parts = [
    ...(r.reloaded.length ? [`reloaded ${r.reloaded.join(', ')}`] : []),
    ...(r.needRestart.length ? [`${r.needRestart.join(', ')} changed but need${r.needRestart.length === 1 ? 's' : ''} a daemon restart; still running with the old value`] : []),
  ];
  return parts.length ? `daemon config: ${parts.join('; ')}` : undefined;
}

/** Re-shapes the default bridge to the config and publishes the config for one-shot commands (a daemon's start). */
async function takeConfig(controller: Controller, say: (line: string) => void): Promise<void> {
  const line = await controller.reshapeDefaultBridge();
  if (line) say(line);
  publishDaemonConfig(controller.stateDir, controller.config);
}

/** A reload: the controller takes next, the copy for commands follows, one line says what happened. */
async function reloadWith(controller: Controller, next: DaemonConfig, say: (line: string) => void): Promise<void> {
  const line = reloadLine(await controller.reloadConfig(next));
  publishDaemonConfig(controller.stateDir, controller.config);
  say(line ?? 'daemon config: reloaded, nothing changed');
}

/**
 * Starts the whole daemon of stateDir in this process (an engine embedding tsnet, tests): the
 * resolver, its control socket and the services. `tsnet daemon` instead supervises two processes.
 */
export async function runDaemon(opts: DaemonOptions = {}): Promise<DaemonHandle> {
  // Operations this daemon runs for one-shot commands wait until their names are served, as theirs would.
  let syncNow: () => Promise<void> = async () => undefined;
  const controller = await Controller.open({ stateDir: opts.stateDir, config: opts.config, notifier: { networksChanged: () => syncNow() } });
  const paths = daemonPaths(controller.stateDir);
  claimPidFile(paths.pid);
  withdrawDaemonConfig(controller.stateDir);
  const resolver = await serveResolver(controller);
  syncNow = resolver.sync;
  debug(`serving ${controller.stateDir} (pid ${process.pid})`);
  const cluster = await controller.startClusterServices();
  const firewall = controller.watchFirewall();
  const say = opts.onLog ?? debug;
  await takeConfig(controller, say);
  const rpc = await serveControllerRpc(controller);
  const services = await startServices({ controller, sync: resolver.sync }, opts.services ?? [], opts.onServiceError ?? debug);
  return {
    controller,
    sync: resolver.sync,
    reload: (next) => reloadWith(controller, next, say),
    async close() {
      withdrawDaemonConfig(controller.stateDir);
      firewall.close();
      await rpc.close();
      await services.close();
      await cluster.close();
      await resolver.close();
      fs.rmSync(paths.pid, { force: true });
      await controller.close();
    },
  };
}

/**
 * Runs one role of a supervised daemon (the supervisor holds the pid file): `resolver` serves DNS
 * and the control socket; `services` runs the services, asking the resolver process to sync.
 */
export async function runDaemonRole(role: DaemonRole, opts: DaemonOptions & { supervisor?: number } = {}): Promise<{ reload(next: DaemonConfig): Promise<void>; close(): Promise<void> }> {
  // A supervisor killed with SIGKILL takes its children with it: no orphan keeps serving a stale view.
  dieWithParent();
  if (opts.supervisor !== undefined && process.ppid !== opts.supervisor) throw new ConflictError(`daemon ${role}: its supervisor (pid ${opts.supervisor}) is gone`);
  // The resolver only reads: restoring lost devices is the services process's and the commands' work.
  const stateDir = opts.stateDir;
  // The services process runs operations for one-shot commands: their names must be served before they return.
  const notifier = role === 'services' ? { networksChanged: () => syncResolver(controller.stateDir) } : undefined;
  const controller: Controller = await Controller.open({ stateDir, config: opts.config, readOnly: role === 'resolver', notifier });
  if (role === 'resolver') {
    const resolver = await serveResolver(controller);
    // The resolver takes the new config silently: the services process reports for the daemon.
    return { reload: async (next) => void (await controller.reloadConfig(next, { firewall: false })), close: async () => { await resolver.close(); await controller.close(); } };
  }
  const say = opts.onLog ?? debug;
  await takeConfig(controller, say);
  const sync = () => syncResolver(controller.stateDir);
  const cluster = await controller.startClusterServices();
  const firewall = controller.watchFirewall();
  const rpc = await serveControllerRpc(controller);
  const services = await startServices({ controller, sync }, opts.services ?? [], opts.onServiceError ?? debug);
  return {
    reload: (next) => reloadWith(controller, next, say),
    close: async () => { withdrawDaemonConfig(controller.stateDir); firewall.close(); await services.close(); await rpc.close(); await cluster.close(); await controller.close(); },
  };
}
