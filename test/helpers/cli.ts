/** Runs the built tsnet CLI as a process, exactly as an administrator would. */
import { strict as assert } from 'node:assert';
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

/** Runs `tsnet ARGS…`, asserts it succeeded, and returns its stdout. */
export function tsnetOk(...args: string[]): string {
  const r = tsnet(...args);
  assert.equal(r.status, 0, `tsnet ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs `tsnet ARGS…` and asserts it failed with code and one stderr line matching re. */
export function tsnetFails(code: number, re: RegExp, ...args: string[]): void {
  const r = tsnet(...args);
  assert.equal(r.status, code, `tsnet ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
}
