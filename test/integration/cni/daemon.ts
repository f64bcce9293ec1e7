/** The tsnet daemon of the test's state directory, as the CNI shim sees it: started, stopped, its CNI socket awaited. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CNI_SOCKET } from '../../../plugins/cni/server';
import { syncDaemon } from '../../../src/daemon/client';
import { daemonPaths } from '../../../src/daemon/paths';
import { defaultStateDir } from '../../../src/index';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CNI socket of stateDir. */
export function cniSocket(stateDir = defaultStateDir()): string {
  return path.join(stateDir, CNI_SOCKET);
}

/** Whether something accepts connections on the unix socket at file. */
export function listening(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(file);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Waits until the CNI socket of stateDir accepts connections; false after timeoutMs. */
export async function waitForCniSocket(stateDir = defaultStateDir(), timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await listening(cniSocket(stateDir)))) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** Starts the daemon of stateDir when none runs (as the node plugin would) and waits for its CNI socket. */
export async function ensureDaemon(stateDir = defaultStateDir()): Promise<void> {
  await syncDaemon(stateDir);
  // The control socket answers before the CNI socket is up: the daemon opens it last.
  if (!(await waitForCniSocket(stateDir))) throw new Error(`tsnet daemon of ${stateDir} runs but serves no CNI socket (see ${daemonPaths(stateDir).log})`);
}

/** The pid of the daemon of stateDir when one runs. */
export function daemonPid(stateDir = defaultStateDir()): number | undefined {
  try {
    const pid = Number(fs.readFileSync(daemonPaths(stateDir).pid, 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Stops the daemon of stateDir (SIGTERM, then SIGKILL after 5 s) and waits until it is gone. */
export async function stopDaemon(stateDir = defaultStateDir()): Promise<void> {
  const pid = daemonPid(stateDir);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  let signal: NodeJS.Signals = 'SIGTERM';
  for (const deadline = Date.now() + 5000; daemonPid(stateDir) === pid; await sleep(25)) {
    if (signal === 'SIGTERM' && Date.now() > deadline) process.kill(pid, (signal = 'SIGKILL'));
  }
}
