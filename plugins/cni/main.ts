#!/usr/bin/env node
/**
 * tsnet-cni: the CNI plugin binary (spec 1.1.0; configs 0.3.0 to 1.1.0). A runtime execs it per
 * command with CNI_* variables and the config on stdin. `tsnet-cni install [DIR]` writes the
 * executable into a CNI bin directory (default /opt/cni/bin). The core loads only for commands
 * that need it, so VERSION costs a bare node start.
 */
import { CniCode } from './codes';
import { runCni } from './skel';
import { LATEST_VERSION } from './version';

/** Runs the plugin (or the install command) and returns the exit code. */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'install') return (await import('./install')).install(argv.slice(1), process.stdout);
  return runCni(async () => (await import('./handlers')).tsnetHandlers(), { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}

let settled = false;
// An await that can never settle leaves node with nothing to do: it would exit 0 with no result.
process.once('beforeExit', () => {
  if (settled) return;
  process.stdout.write(JSON.stringify({ cniVersion: LATEST_VERSION, code: CniCode.Internal, msg: 'tsnet-cni stopped before finishing (an operation never completed)' }) + '\n');
  process.exit(1);
});

main(process.argv.slice(2)).then(
  // Exit at once: stdout to a pipe is written synchronously on Linux, and no lingering handle may keep a runtime waiting.
  (code) => {
    settled = true;
    process.exit(code);
  },
  (err) => {
    settled = true;
    process.stderr.write(`tsnet-cni: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
