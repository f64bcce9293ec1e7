/**
 * The daemon's process layout: a small supervisor (the `tsnet daemon` process, holder of the pid
 * file) runs the embedded resolver as one process and every other resident service (CNI and CLI
 * fast paths, the Docker plugin, later the overlay agent) as another, and starts either again at
 * once when it exits. So a crash in the CNI or Docker code never takes name resolution down, and a
 * killed resolver is back within a few hundred milliseconds while its sandboxes keep their records.
 */
import * as fs from 'node:fs';
import { type SupervisedChild, spawnSupervised } from '../kernel/exec';
import { log } from '../log';
import { withdrawDaemonConfig } from './config-copy';
import { claimPidFile } from './pidfile';
import { daemonPaths } from './paths';

const debug = log('tsnet:daemon:supervisor');

/** The roles a supervised child runs (`tsnet daemon --role <role>`). */
export type DaemonRole = 'resolver' | 'services';

/** A running supervisor. */
export interface Supervisor {
  /** Current pid of each child. */
  pids(): Record<DaemonRole, number | undefined>;
  /** Sends a signal to both children (SIGHUP: take the config file again). */
  signal(sig: NodeJS.Signals): void;
  /** Stops both children (services first, so nothing syncs a resolver that is gone) and releases the pid file. */
  close(): Promise<void>;
}

/** Starts the two children of stateDir's daemon; childArgv(role) is the command line of one. */
export function superviseDaemon(o: { stateDir: string; childArgv(role: DaemonRole): string[]; env?: NodeJS.ProcessEnv; outputFd?: number }): Supervisor {
  const paths = daemonPaths(o.stateDir);
  claimPidFile(paths.pid);
  // A copy a killed daemon left must not pass for this one's before the services child publishes its own.
  withdrawDaemonConfig(o.stateDir);
  // The children write where the supervisor does (a terminal, the journal, the log of a daemon started on demand).
  const logFd = o.outputFd ?? fs.openSync(paths.log, 'a');
  const children = {} as Record<DaemonRole, SupervisedChild>;
  for (const role of ['resolver', 'services'] as const) {
    const [file, ...args] = o.childArgv(role);
    children[role] = spawnSupervised(file, args, {
      logFd, env: o.env,
      onExit: (code, signal) => debug(`${role} exited (${signal ?? code}), starting it again`),
    });
  }
  return {
    pids: () => ({ resolver: children.resolver.pid(), services: children.services.pid() }),
    signal(sig) {
      for (const child of Object.values(children)) {
        const pid = child.pid();
        if (pid) process.kill(pid, sig);
      }
    },
    async close() {
      await children.services.stop();
      await children.resolver.stop();
      if (o.outputFd === undefined) fs.closeSync(logFd);
      fs.rmSync(paths.pid, { force: true });
    },
  };
}
