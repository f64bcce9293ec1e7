/**
 * Compiles a face's C exec shim with the system C compiler ($CC, default cc). The shims' paths are
 * compile-time macros, so a shim reads no file and parses nothing to find them. All three (CNI,
 * netavark, the CLI's thin client) include plugins/shared/shim/exec-shim.h by its path relative to
 * their source.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Repository root, from build/plugins/shared or plugins/shared alike (tsc does not copy C, so sources are read there). */
export const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../../..' : '../..');

/**
 * Compiles source into outfile (written beside and renamed over: a runtime may be exec'ing the old
 * one) with each define as -DKEY=VALUE (VALUE as given: quote strings with JSON.stringify). 'no-compiler'
 * when the compiler is not installed; a compile error throws.
 */
export function compileC(source: string, outfile: string, defines: Record<string, string>): 'built' | 'no-compiler' {
  const tmp = `${outfile}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  try {
    execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-o', tmp, source, ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'no-compiler';
    throw new Error(`shim: ${process.env.CC || 'cc'} failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, outfile);
  return 'built';
}
