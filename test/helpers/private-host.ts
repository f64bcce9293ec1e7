/**
 * Runs a command inside a private host: a new network and mount namespace, a tmpfs over /run/netns
 * and a fresh state directory, so nothing the command makes can leak onto the machine.
 * Usage: node build/test/helpers/private-host.js CMD [ARGS…]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MARK = 'TSNET_PRIVATE_HOST';

/** Stops the tsnet daemon a command started for stateDir: it would otherwise outlive the private host. */
function stopDaemon(stateDir: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(stateDir, 'daemon.pid'), 'utf8'));
  } catch {
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      process.kill(pid, 0);
      spawnSync('sleep', ['0.05']);
    }
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone: that is what we wanted.
  }
}

function inside(argv: string[]): number {
  const sh = (cmd: string, ...args: string[]) => {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`private host setup: ${cmd} ${args.join(' ')} failed`);
  };
  // Private mounts: named namespaces, the Docker plugin socket dir and the xtables lock stay ours.
  for (const dir of ['/run/netns', '/run/tsnet', '/run/docker/plugins']) {
    fs.mkdirSync(dir, { recursive: true });
    sh('mount', '-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', dir);
  }
  sh('ip', 'link', 'set', 'lo', 'up');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-state-'));
  const env = { ...process.env, [MARK]: '1', TSNET_STATE_DIR: process.env.TSNET_STATE_DIR ?? stateDir };
  try {
    const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env });
    if (r.error) throw r.error;
    return r.status ?? 1;
  } finally {
    stopDaemon(env.TSNET_STATE_DIR);
    // Namespaces pinned under /run/netns vanish with the tmpfs and this mount namespace.
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function main(): number {
  const argv = process.argv.slice(2);
  if (!argv.length) {
    process.stderr.write('usage: private-host CMD [ARGS…]\n');
    return 2;
  }
  if (process.env[MARK]) return inside(argv);
  if (process.getuid?.() !== 0) {
    process.stderr.write('private-host: integration tests need root (network namespaces, bridges, firewall)\n');
    return 1;
  }
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--fork', '--', process.execPath, __filename, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' },
  });
  return r.status ?? 1;
}

process.exit(main());
