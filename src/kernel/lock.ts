/**
 * A lock file between processes (one-shot CLI and CNI processes run at once), with an in-process
 * queue per file so callers in one process wait their turn instead of spinning on their own lock.
 * The file holds the holder's pid: a lock whose holder died is taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InternalError } from '../errors';

/** A holder older than this is presumed dead even if its pid was reused. */
const STALE_MS = 120_000;
/** One queue per lock file: holding one lock while taking another must not deadlock. */
const queues = new Map<string, Promise<unknown>>();

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

async function acquire(file: string, timeoutMs: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new InternalError(`lock ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (isStale(file)) fs.rmSync(file, { force: true });
    else if (Date.now() > deadline) throw new InternalError(`lock ${file}: still held after ${timeoutMs} ms`);
    else await sleep(wait);
  }
}

/** Runs fn holding the lock file; in-process callers of the same file queue, other processes wait up to timeoutMs. */
export function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const next = (queues.get(file) ?? Promise.resolve()).then(async () => {
    await acquire(file, timeoutMs);
    try {
      return await fn();
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
  // A failed holder must not block the callers queued after it.
  const tail = next.catch(() => undefined);
  queues.set(file, tail);
  void tail.then(() => { if (queues.get(file) === tail) queues.delete(file); });
  return next;
}
