/** How one-shot faces reach the daemon: start it when none runs (as netavark starts aardvark-dns), then sync. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { InternalError } from '../errors';
import { spawnDetached } from '../kernel/exec';
import { flock, LOCK_EX, LOCK_NB } from '../kernel/libc';
import { daemonPaths } from './paths';

const CLI_MAIN = path.join(__dirname, '..', 'cli', 'main.js');
// A supervisor and its resolver are two Node starts: on a loaded 2-core machine that can take seconds.
const START_TIMEOUT_MS = 15000;

/** Sends one command line and resolves with the reply line; rejects when nobody listens. */
/** A sync waits for one reconcile pass of every sandbox: seconds on a loaded machine with hundreds of them. */
function request(socket: string, line: string, timeoutMs = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    c.setTimeout(timeoutMs, () => c.destroy(new Error(`daemon at ${socket}: no answer within ${timeoutMs} ms`)));
    c.on('connect', () => c.write(line + '\n'));
    c.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        c.end();
        resolve(buf.slice(0, buf.indexOf('\n')));
      }
    });
    c.on('error', reject);
    // A daemon that hangs up without a reply is an error, not a silent success.
    c.on('close', () => reject(Object.assign(new Error(`daemon at ${socket}: closed without a reply`), { code: 'ECONNRESET' })));
  });
}

/**
 * Starts `tsnet daemon` for stateDir in the background (the resolver only: the Docker plugin is for
 * a daemon run on purpose), unless one is starting or runs: as the CNI shim does, the starter takes
 * the flock on daemon.start and hands its descriptor to the daemon, which keeps it for its life, so
 * one-shots racing here (parallel CNI ADDs on their node path) start one daemon, not one each.
 */
function startDaemon(stateDir: string): void {
  const { log } = daemonPaths(stateDir);
  const lock = fs.openSync(path.join(stateDir, 'daemon.start'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    if (flock(lock, LOCK_EX | LOCK_NB) !== 0) return;
    const fd = fs.openSync(log, 'a');
    try {
      spawnDetached(process.execPath, [CLI_MAIN, '--state-dir', stateDir, 'daemon', '--no-docker-plugin'], fd, { ...process.env, TSNET_STATE_DIR: stateDir }, [lock]);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    // The daemon's copy keeps the lock; a failed spawn leaves none.
    fs.closeSync(lock);
  }
}

/** Makes the daemon of stateDir apply the store now (starting it if needed); resolves once it has. */
export async function syncDaemon(stateDir: string): Promise<void> {
  const { socket } = daemonPaths(stateDir);
  try {
    if (checkReply(await request(socket, 'sync'))) return;
  } catch (err) {
    if (err instanceof InternalError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw new InternalError(`sync with tsnet daemon: ${(err as Error).message}`, { cause: err });
  }
  startDaemon(stateDir);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      if (checkReply(await request(socket, 'sync'))) return;
    } catch (err) {
      if (err instanceof InternalError) throw err;
      if (Date.now() > deadline) throw new InternalError(`tsnet daemon did not start within ${START_TIMEOUT_MS} ms (see ${daemonPaths(stateDir).log})`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True for "ok"; a daemon's "error: …" reply (the change could not be served) is thrown as it is. */
function checkReply(reply: string): boolean {
  if (reply === 'ok') return true;
  throw new InternalError(`tsnet daemon: ${reply.replace(/^error: /, '')}`);
}

/** The notifier one-shot faces inject into their Controller: sync the daemon (starting it when none runs) after a DNS change. */
export function daemonNotifier(stateDir: string): { networksChanged(ids: string[]): Promise<void> } {
  return { networksChanged: () => syncDaemon(stateDir) };
}

/**
 * Asks the resolver process of stateDir to apply the model (the services process after a CNI ADD),
 * without starting a daemon: the supervisor restarts a resolver that is gone, so this retries for a while.
 */
export async function syncResolver(stateDir: string, timeoutMs = 3000): Promise<void> {
  const { socket } = daemonPaths(stateDir);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (checkReply(await request(socket, 'sync'))) return;
    } catch (err) {
      if (err instanceof InternalError || Date.now() > deadline) throw new InternalError(`sync with the tsnet resolver: ${(err as Error).message}`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
