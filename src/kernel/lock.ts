/**
 * Locks between processes (one-shot CLI and CNI processes run at once) as flock(2) on a held
 * descriptor, the lock the CNI shim takes on daemon.start. The kernel drops it with the holder's
 * last descriptor, so a holder that dies, even by SIGKILL, releases it at once, and a live holder
 * keeps it however long it runs: no pid, age or takeover decides who holds. flock locks belong to
 * open file descriptions, so two opens of one file in one process exclude each other: an
 * in-process queue per file makes callers in this process wait their turn instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorKind, InternalError, TsnetError } from '../errors';
import { EINTR, EWOULDBLOCK, flock, libc, LOCK_EX, LOCK_NB, LOCK_UN } from './libc';

/** The longest pause between two tries: bounds the delay between a release and the next taker. */
const MAX_BACKOFF_MS = 10;
/** One queue per lock file: holding one lock while taking another must not deadlock. */
const queues = new Map<string, Promise<unknown>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Another process held the lock file for longer than the caller would wait. */
export class LockTimeoutError extends TsnetError {
  constructor(readonly file: string, readonly timeoutMs: number) {
    super(ErrorKind.Conflict, `lock ${file}: still held by another process after ${timeoutMs} ms`);
  }
}

/** The locked descriptor of file, or undefined when another process holds it. */
function tryLock(file: string): number | undefined {
  let fd: number;
  try {
    // O_CLOEXEC (libuv adds it): a child started under the lock must not keep it after we release or die.
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  } catch (err) {
    throw new InternalError(`lock ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (flock(fd, LOCK_EX | LOCK_NB) === 0) return fd;
  const errno = libc().errno();
  fs.closeSync(fd);
  if (errno === EWOULDBLOCK || errno === EINTR) return undefined;
  throw new InternalError(`lock ${file}: flock: errno ${errno}`);
}

/**
 * The locked descriptor of file, waiting up to timeoutMs for other processes. A blocking flock
 * would stall the event loop, and one run on a worker thread cannot be cancelled at the timeout
 * (the thread would sit in the kernel until the holder lets go, then own a lock nobody releases),
 * so this polls LOCK_NB with a short, jittered backoff instead.
 */
async function acquire(file: string, timeoutMs: number): Promise<number> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, MAX_BACKOFF_MS)) {
    const fd = tryLock(file);
    if (fd !== undefined) return fd;
    const left = deadline - Date.now();
    if (left <= 0) throw new LockTimeoutError(file, timeoutMs);
    // Jitter keeps waiters that saw the same holder from polling in step.
    await sleep(Math.min(left, wait / 2 + Math.random() * (wait / 2)));
  }
}

/** Runs fn holding the lock file; in-process callers of the same file queue, other processes wait up to timeoutMs. */
export function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  // One key per file however it is spelled, or this process would wait on itself.
  const key = path.resolve(file);
  const next = (queues.get(key) ?? Promise.resolve()).then(async () => {
    const fd = await acquire(key, timeoutMs);
    try {
      return await fn();
    } finally {
      // The file stays: unlinking it would let a waiter that opened the old inode and a newcomer
      // that creates a new one both lock. LOCK_UN frees the lock even where a child forked before
      // its exec still shares the descriptor.
      flock(fd, LOCK_UN);
      fs.closeSync(fd);
    }
  });
  // A failed holder must not block the callers queued after it.
  const tail = next.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => { if (queues.get(key) === tail) queues.delete(key); });
  return next;
}
