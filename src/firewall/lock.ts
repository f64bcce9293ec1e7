/**
 * Serialises firewall changes across processes. Each change lists the kernel state and then sends a
 * batch; two one-shot CLI/CNI processes interleaving those steps would declare a chain twice (which
 * iptables-restore --noflush answers by flushing it) or create the nft table's rules twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InternalError } from '../errors';

const STALE_MS = 120_000;
let queue: Promise<unknown> = Promise.resolve();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the process that wrote the lock file is gone (or the lock is implausibly old). */
function isStale(file: string): boolean {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    if (Date.now() - fs.statSync(file).mtimeMs > STALE_MS) return true;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: the holder died without unlocking; ENOENT: released meanwhile (retry takes it).
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function acquire(file: string, timeoutMs: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new InternalError(`firewall lock ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (isStale(file)) fs.rmSync(file, { force: true });
    else if (Date.now() > deadline) throw new InternalError(`firewall lock ${file}: still held after ${timeoutMs} ms`);
    else await sleep(wait);
  }
}

/** Runs fn holding the firewall lock at file: in-process callers queue, other processes wait for the file. */
export function withLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const next = queue.then(async () => {
    await acquire(file, timeoutMs);
    try {
      return await fn();
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
  // A failed change must not block the ones queued after it.
  queue = next.catch(() => undefined);
  return next;
}
