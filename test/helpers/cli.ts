/** Runs the built tsnet CLI as a process, exactly as an administrator would. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** Path of the compiled CLI entry point. */
export const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** Result of one CLI run. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsnet ARGS…` synchronously with the test's state directory. */
export function tsnet(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
