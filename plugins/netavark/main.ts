#!/usr/bin/env node
/**
 * tsnet-netavark: a drop-in for podman's netavark backend (the contract of netavark 1.4, podman 4.3):
 * `netavark [--config DIR] [--rootless BOOL] [--aardvark-binary PATH] setup|teardown NETNS` with the
 * network options on stdin, the status block on stdout; `version`. `install DIR` puts it into a
 * helper_binaries_dir under the name `netavark`, with the state directory fixed at install.
 */
import { runNetavark } from './run';

/** The whole of stdin. */
async function readStdin(): Promise<string> {
  // The installed helper has read it already when it offered the call to the daemon first.
  const given = (globalThis as { __tsnetNetavarkStdin?: string }).__tsnetNetavarkStdin;
  if (given !== undefined) return given;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the command (or the install command) and returns the exit code. */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'install') return (await import('./install')).install(argv.slice(1), process.stdout);
  return runNetavark(argv, { env: process.env, readStdin, stdout: process.stdout });
}

main(process.argv.slice(2)).then(
  // Exit at once: no lingering handle may keep podman waiting.
  (code) => process.exit(code),
  (err) => {
    process.stdout.write(`${JSON.stringify({ error: `tsnet-netavark: ${(err as Error)?.message ?? String(err)}` })}\n`);
    process.exit(1);
  },
);
