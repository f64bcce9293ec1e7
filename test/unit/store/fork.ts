/**
 * Forked workers for cross-process tests: every child opens its store, reports ready, and starts
 * only when the parent says go, so all of them race at once.
 */
import { fork } from 'node:child_process';

interface Report<T> { ready?: true; result?: T; error?: string }

/** Forks one child per argv, releases them together, and resolves with their results in order. */
export async function raceChildren<T>(script: string, argvs: string[][], timeoutMs = 60000): Promise<T[]> {
  const children = argvs.map((argv) => fork(script, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const kill = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  const timer = setTimeout(kill, timeoutMs);
  try {
    const ready = children.map((c) => new Promise<void>((resolve, reject) => {
      c.on('message', (m: Report<T>) => m.ready && resolve());
      c.once('exit', (code) => reject(new Error(`child ${c.pid} exited with ${code} before it was ready`)));
    }));
    const results = children.map((c) => new Promise<T>((resolve, reject) => {
      c.on('message', (m: Report<T>) => {
        if (m.error !== undefined) reject(new Error(`child ${c.pid}: ${m.error}`));
        else if (!m.ready) resolve(m.result as T);
      });
      c.once('exit', (code) => reject(new Error(`child ${c.pid} exited with ${code} before reporting`)));
    }));
    // Whichever is not awaited when another fails must not surface as an unhandled rejection.
    [...ready, ...results].forEach((p) => p.catch(() => undefined));
    await Promise.all(ready);
    children.forEach((c) => c.send('go'));
    return await Promise.all(results);
  } finally {
    clearTimeout(timer);
    kill();
  }
}

/** The child side: reports ready, waits for go, runs job and sends its result (or error) back. */
export function childMain<T>(job: () => Promise<T>, cleanup: () => Promise<void>): void {
  process.once('message', () => {
    job()
      .then((result) => process.send!({ result }), (err: Error) => process.send!({ error: err.stack ?? String(err) }))
      .finally(() => cleanup().finally(() => process.disconnect()));
  });
  process.send!({ ready: true });
}
