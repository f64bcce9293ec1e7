/**
 * Where a CLI command writes and which controller it uses: the process's own stdout/stderr, or, when
 * the daemon runs the command for the thin client (cli-server.ts), buffers sent back to it and the
 * daemon's open controller. Kept per async context, so commands the daemon runs at once never mix.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Controller } from '../index';

/** The streams and controller of one command run. */
export interface CliContext {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** The daemon's controller: commands use it instead of opening (and closing) their own. */
  controller?: Controller;
}

const context = new AsyncLocalStorage<CliContext>();

/** Runs fn with ctx as the command's context. */
export function withCliContext<T>(ctx: CliContext, fn: () => T): T {
  return context.run(ctx, fn);
}

/** The current command's context (the process's own streams outside any). */
export function cliContext(): CliContext | undefined {
  return context.getStore();
}

/** Writes to the command's stdout. */
export function out(s: string): void {
  (context.getStore()?.stdout ?? process.stdout).write(s);
}

/** Writes to the command's stderr. */
export function err(s: string): void {
  (context.getStore()?.stderr ?? process.stderr).write(s);
}
