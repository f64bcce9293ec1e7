/** The one place tsnet starts processes: execFile with argument arrays and timeouts, never a shell. */
import { execFile, spawn } from 'node:child_process';
import { InternalError } from '../errors';

/** Output of a finished command. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs file with args, feeding input on stdin; rejects with the command's stderr when it fails. */
export function run(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 30000, maxBuffer: 64 << 20, env: opts.env }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim() || err.message;
        reject(new InternalError(`${file} ${args.slice(0, 3).join(' ')}: ${detail}`, { cause: err }));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Starts a long-running process detached from this one (its own session, output to logFile); returns its pid. */
export function spawnDetached(file: string, args: readonly string[], logFd: number, env?: NodeJS.ProcessEnv): number {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  child.unref();
  return child.pid ?? -1;
}

/** Runs a command with inherited stdio and resolves with its exit code (for `sandbox exec`). */
export function runInteractive(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
  });
}
