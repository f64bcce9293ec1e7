/** A stack of reverse steps: push the reverse of each change, run them all on failure, drop them on success. */
import { log } from './log';

const debug = log('tsnet:undo');

/** Reverses of completed steps, run newest first. */
export class Undo {
  private steps: { what: string; fn: () => unknown }[] = [];

  /** Records how to reverse the step that just succeeded. */
  push(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  /** Runs every reverse, newest first, carrying on past failures (they are logged: the original error matters more). */
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step.fn();
      } catch (err) {
        debug(`reverse of "${step.what}" failed: ${(err as Error).message}`);
      }
    }
    this.steps = [];
  }

  /** Keeps the changes: forgets every reverse. */
  commit(): void {
    this.steps = [];
  }
}

/** Runs every teardown step even when some fail, then throws one AggregateError naming what failed. */
export async function teardownAll(what: string, steps: (() => unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new AggregateError(errors, `${what}: ${errors.length} step(s) failed`);
}
