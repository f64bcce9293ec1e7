/**
 * A lock file between plugin processes (runtimes run ADDs in parallel). Its own queue, apart from
 * the firewall's lock: network creation holds this one while the controller takes the firewall's.
 */
import * as fs from 'node:fs';
import { InternalError } from '../../src/index';

/** A holder older than this is presumed dead even if its pid was reused. */
const STALE_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the process that wrote the lock file is gone (or the lock is implausibly old). */
function isStale(file: string): boolean {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    if (Date.now() - fs.statSync(file).mtimeMs > STALE_MS) return true;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: the holder died without unlocking; ENOENT: released meanwhile, the next try takes it.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Runs fn holding the lock file; waits (with backoff) up to timeoutMs for another process to release it. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new InternalError(`lock ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (isStale(file)) fs.rmSync(file, { force: true });
    else if (Date.now() > deadline) throw new InternalError(`lock ${file}: still held after ${timeoutMs} ms`);
    else await sleep(wait);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
