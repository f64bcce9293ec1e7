/** The daemon's pid file: claimed atomically, and a stale one (a dead daemon, a pid reused after a reboot) is taken over. */
import * as fs from 'node:fs';
import { ConflictError } from '../errors';
import { alive } from './paths';

/** Claims the pid file, refusing when a live daemon holds it. */
export function claimPidFile(file: string): void {
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

