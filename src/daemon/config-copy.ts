/**
 * The daemon's copy of the config it runs with (daemon.json as of its start or last SIGHUP, with its
 * flags), so a one-shot command answers as the daemon would whichever path it takes, even while the
 * file on disk holds edits the daemon has not taken yet.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DaemonConfig } from '../config';
import { alive, daemonPaths } from './paths';

const COPY_FILE = 'daemon-config.json';

/** Writes the config the daemon of stateDir runs with (atomically: readers never see half a file). */
export function publishDaemonConfig(stateDir: string, config: DaemonConfig): void {
  const file = path.join(stateDir, COPY_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(config));
  fs.renameSync(`${file}.tmp`, file);
}

/** Removes the copy (the daemon stops). */
export function withdrawDaemonConfig(stateDir: string): void {
  fs.rmSync(path.join(stateDir, COPY_FILE), { force: true });
}

/** The config the daemon of stateDir runs with, when one runs and has published it; undefined otherwise. */
export function daemonConfigCopy(stateDir: string): DaemonConfig | undefined {
  try {
    const pid = Number(fs.readFileSync(daemonPaths(stateDir).pid, 'utf8').trim());
    if (!pid || !alive(pid)) return undefined;
    return JSON.parse(fs.readFileSync(path.join(stateDir, COPY_FILE), 'utf8')) as DaemonConfig;
  } catch {
    return undefined;
  }
}
