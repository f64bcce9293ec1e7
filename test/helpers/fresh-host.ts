/** A fresh nested private host (own namespaces, tmpfs /run/netns, own state dir) running one bash script with `tsnet` defined. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { CLI } from './cli';

const PRIVATE_HOST = path.join(__dirname, 'private-host.js');

/** Runs script under `set -e` in a fresh private host; out is stdout then stderr. */
export function inFreshHost(script: string, env: Record<string, string> = {}, timeout = 60000): { status: number; out: string; stdout: string; stderr: string } {
  const prelude = `set -e\ntsnet() { ${process.execPath} ${CLI} "$@"; }\n`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.TSNET_PRIVATE_HOST;
  delete childEnv.TSNET_STATE_DIR;
  const r = spawnSync(process.execPath, [PRIVATE_HOST, 'bash', '-c', prelude + script], { encoding: 'utf8', env: childEnv, timeout });
  return { status: r.status ?? -1, out: r.stdout + r.stderr, stdout: r.stdout, stderr: r.stderr };
}
