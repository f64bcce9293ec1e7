/** The one place tsnet starts processes: execFile with argument arrays and timeouts, never a shell. */
import { type ChildProcess, execFile, type ExecFileException, spawn } from 'node:child_process';
import * as os from 'node:os';
import type { Writable } from 'node:stream';
import { InternalError } from '../errors';

/** Output of a finished command. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs file with args, feeding input on stdin; rejects with the command's stderr when it fails. */
export async function run(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  let child!: ChildProcess;
  const exited = new Promise<{ err: ExecFileException | null; stdout: string; stderr: string }>((resolve) => {
    child = execFile(file, args, { timeout: opts.timeoutMs ?? 30000, maxBuffer: 64 << 20, env: opts.env }, (err, stdout, stderr) =>
      resolve({ err, stdout: String(stdout), stderr: String(stderr) }));
  });
  // Both settle in either order: stdin's error may come after the exit callback.
  const [{ err, stdout, stderr }, inputErr] = await Promise.all([exited, opts.input === undefined ? undefined : feed(child.stdin!, opts.input)]);
  const what = `${file} ${args.slice(0, 3).join(' ')}`;
  // A command that failed explains itself better than the broken pipe its exit caused.
  if (err) throw new InternalError(`${what}: ${stderr.trim() || err.message}`, { cause: err });
  if (inputErr) {
    const why = (inputErr as NodeJS.ErrnoException).code === 'EPIPE' ? 'exited without reading all its input' : `writing its input: ${inputErr.message}`;
    throw new InternalError(`${what}: ${why}`, { cause: inputErr });
  }
  return { stdout, stderr };
}

/**
 * Writes input to a child's stdin and resolves with the write's error, if any. Without an 'error'
 * listener, a child that exits before reading it all (EPIPE) is an uncaught exception that takes
 * the whole daemon down.
 */
function feed(stdin: Writable, input: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    // on, not once: a second error event without a listener would throw as well.
    stdin.on('error', resolve);
    stdin.once('finish', () => resolve(undefined));
    stdin.once('close', () => resolve(undefined));
    stdin.end(input);
  });
}

/** Starts a long-running process detached from this one (its own session, output to logFile; inherit: descriptors it gets as fd 3, 4, …); returns its pid. */
export function spawnDetached(file: string, args: readonly string[], logFd: number, env?: NodeJS.ProcessEnv, inherit: number[] = []): number {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', logFd, logFd, ...inherit], env });
  child.unref();
  return child.pid ?? -1;
}

/** The shell's exit code for a process killed by signal. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}

/**
 * Runs a command with inherited stdio and resolves with its exit code (for `sandbox exec`, `run`).
 * Ctrl-C reaches the child through the terminal; this process outlives it so cleanup can run.
 */
export function runInteractive(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    const child = spawn(file, args, { stdio: 'inherit', env });
    const forward = () => child.kill('SIGTERM');
    process.on('SIGTERM', forward);
    const done = () => { process.off('SIGINT', ignore); process.off('SIGTERM', forward); };
    child.on('error', (err) => { done(); reject(err); });
    child.on('exit', (code, signal) => { done(); resolve(code ?? (signal ? signalExitCode(signal) : 1)); });
  });
}

/** A child a supervisor keeps running. */
export interface SupervisedChild {
  /** Its current pid (changes on each restart), or undefined between restarts. */
  pid(): number | undefined;
  /** Stops restarting it, sends SIGTERM, and resolves once it exited (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs file with args and starts it again whenever it exits (a crash, a SIGKILL), at once the first
 * time and with a growing delay (up to 5 s) if it keeps dying within a second of starting.
 */
export function spawnSupervised(file: string, args: readonly string[], o: { logFd: number; env?: NodeJS.ProcessEnv; onExit?(code: number | null, signal: NodeJS.Signals | null): void }): SupervisedChild {
  let child: ReturnType<typeof spawn> | undefined;
  let stopping = false;
  let delay = 0;
  let exited: Promise<void> = Promise.resolve();
  const start = () => {
    const startedAt = Date.now();
    const c = spawn(file, args, { stdio: ['ignore', o.logFd, o.logFd], env: o.env });
    child = c;
    exited = new Promise((resolve) => c.once('exit', (code, signal) => {
      child = undefined;
      resolve();
      o.onExit?.(code, signal);
      if (stopping) return;
      delay = Date.now() - startedAt < 1000 ? Math.min(Math.max(delay * 2, 100), 5000) : 0;
      setTimeout(start, delay);
    }));
    c.on('error', () => undefined);
  };
  start();
  return {
    pid: () => child?.pid,
    async stop(graceMs = 5000) {
      stopping = true;
      const c = child;
      if (!c) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
