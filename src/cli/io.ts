/**
 * Where a CLI command writes and which controller it uses: the process's own stdout/stderr, or, when
 * the daemon runs the command for the thin client (cli-server.ts), buffers sent back to it and the
 * daemon's open controller. Kept per async context, so commands the daemon runs at once never mix.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
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

/** Per descriptor: 'sync' (fs.writeSync), 'stream' (after EAGAIN: process.stdout/stderr, in order), 'closed' (after EPIPE). */
const modes: Record<1 | 2, 'sync' | 'stream' | 'closed'> = { 1: 'sync', 2: 'sync' };

/** Errors of a stream whose reader went away. */
const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * The process's stream for fd, once it takes over from fs.writeSync: a reader that goes away later
 * ends the output quietly there too, and any other error is thrown as before.
 */
function stream(fd: 1 | 2): NodeJS.WriteStream {
  const s = fd === 1 ? process.stdout : process.stderr;
  if (modes[fd] !== 'stream') {
    modes[fd] = 'stream';
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!CLOSED.has(e.code ?? '')) throw e;
      modes[fd] = 'closed';
    });
  }
  return s;
}

/**
 * Writes to the process's own stdout or stderr without creating process.stdout (which loads the tty
 * and net modules, ~6 ms of a read-only command). This is the CLI's one closed-pipe mechanism: a
 * closed reader (`tsnet ls | head -1`, `| true`) ends the output quietly and the command still
 * finishes its work with its own status; a non-blocking descriptor (EAGAIN) falls back to the stream
 * for the rest of the run, with the same rule.
 */
function writeFd(fd: 1 | 2, s: string): void {
  if (modes[fd] === 'closed') return;
  if (modes[fd] === 'stream') {
    stream(fd).write(s);
    return;
  }
  let buf = Buffer.from(s);
  while (buf.length) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') modes[fd] = 'closed';
      else if (code === 'EAGAIN') stream(fd).write(buf);
      else throw e;
      return;
    }
  }
}

/** Writes to the command's stdout. */
export function out(s: string): void {
  const ctx = context.getStore();
  if (ctx) ctx.stdout.write(s);
  else writeFd(1, s);
}

/** Writes to the command's stderr. */
export function err(s: string): void {
  const ctx = context.getStore();
  if (ctx) ctx.stderr.write(s);
  else writeFd(2, s);
}
