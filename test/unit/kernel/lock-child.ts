/**
 * Child process for the lock tests, in one of two modes.
 *   hold FILE TIMEOUT_MS [sleeper]: takes the lock, optionally starts `sleep 60` under it (a child
 *     that must not inherit the lock), reports { held, sleeper } and holds until any message.
 *   hammer FILE LOG ID COUNT DIE_PERCENT: takes the lock COUNT times, appending "enter ID i" and
 *     "exit ID i" to LOG (O_APPEND, so lines from all processes interleave whole); on DIE_PERCENT of
 *     holds it appends "kill ID i" and SIGKILLs itself while holding instead.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { withFileLock } from '../../../src/kernel/lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hold(file: string, timeoutMs: number, withSleeper: boolean): Promise<void> {
  await withFileLock(file, () => new Promise<void>((resolve) => {
    const sleeper = withSleeper ? spawn('sleep', ['60'], { stdio: 'ignore', detached: true }) : undefined;
    sleeper?.unref();
    process.once('message', () => resolve());
    process.send!({ held: true, sleeper: sleeper?.pid });
  }), timeoutMs);
  process.send!({ released: true });
  process.disconnect();
}

async function hammer(file: string, log: string, id: string, count: number, diePercent: number): Promise<void> {
  const out = fs.openSync(log, 'a');
  for (let i = 0; i < count; i++) {
    await withFileLock(file, async () => {
      fs.writeSync(out, `enter ${id} ${i}\n`);
      // Hold across a turn of the event loop, as real holders do, so waiters pile up.
      await sleep(Math.random() < 0.5 ? 0 : 1);
      if (Math.random() * 100 < diePercent) {
        fs.writeSync(out, `kill ${id} ${i}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
      fs.writeSync(out, `exit ${id} ${i}\n`);
    }, 30_000);
  }
}

async function main(): Promise<void> {
  const [mode, file, ...rest] = process.argv.slice(2);
  if (mode === 'hold') await hold(file, Number(rest[0]), rest[1] === 'sleeper');
  else if (mode === 'hammer') await hammer(file, rest[0], rest[1], Number(rest[2]), Number(rest[3]));
  else throw new Error(`lock-child: unknown mode ${mode}`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
