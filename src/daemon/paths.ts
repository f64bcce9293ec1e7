/** Where a state directory's daemon keeps its pid, control socket and log. */
import * as path from 'node:path';

/** Files of the daemon serving stateDir (one daemon per state directory). */
export function daemonPaths(stateDir: string): { pid: string; socket: string; log: string } {
  return { pid: path.join(stateDir, 'daemon.pid'), socket: path.join(stateDir, 'daemon.sock'), log: path.join(stateDir, 'daemon.log') };
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
