/**
 * Network namespaces: create, delete, open and run synchronous work inside one.
 * The only setns calls in tsnet live here, and every switch is undone before control returns
 * to the event loop, so no await ever runs in a foreign namespace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InternalError, NotFoundError } from '../errors';
import { CLONE_NEWNET, MNT_DETACH, MS_BIND, check, libc } from './libc';

/** Where named namespaces live, as iproute2 keeps them. */
export const NETNS_RUN_DIR = process.env.TSNET_NETNS_DIR ?? '/run/netns';

let hostNsFd: number | undefined;
let depth = 0;

/** The namespace the process started in; every switch returns here. */
function hostFd(): number {
  hostNsFd ??= fs.openSync('/proc/self/ns/net', 'r');
  return hostNsFd;
}

/** Path of the named namespace name. */
export function netnsPath(name: string): string {
  return path.join(NETNS_RUN_DIR, name);
}

/** Whether the thread is inside withNetns now (in another namespace than its own). */
export function switchedNetns(): boolean {
  return depth > 0;
}

/** Runs fn with the calling thread inside the namespace at nsPath; fn must be synchronous. */
export function withNetns<T>(nsPath: string, fn: () => T): T {
  // Nested calls would lose the outer namespace on return; the lock is the call depth.
  if (depth > 0) throw new InternalError('withNetns: nested namespace switch');
  const host = hostFd();
  let fd: number;
  try {
    fd = fs.openSync(nsPath, 'r');
  } catch (err) {
    throw new NotFoundError(`network namespace ${nsPath}: does not exist`, { cause: err });
  }
  depth++;
  try {
    check(libc().setns(fd, CLONE_NEWNET), `setns ${nsPath}`);
    try {
      return fn();
    } finally {
      check(libc().setns(host, CLONE_NEWNET), 'setns back to host namespace');
    }
  } finally {
    depth--;
    fs.closeSync(fd);
  }
}

/** Creates a new, empty network namespace pinned at nsPath (a bind mount, as `ip netns add` does). */
export function createNetns(nsPath: string): void {
  fs.mkdirSync(path.dirname(nsPath), { recursive: true });
  try {
    fs.writeFileSync(nsPath, '', { flag: 'wx', mode: 0 });
  } catch (err) {
    throw new InternalError(`create network namespace ${nsPath}: ${(err as Error).message}`, { cause: err });
  }
  const host = hostFd();
  const c = libc();
  if (depth > 0) throw new InternalError('createNetns: inside a namespace switch');
  depth++;
  try {
    check(c.unshare(CLONE_NEWNET), 'unshare(CLONE_NEWNET)');
    try {
      check(c.mount(`/proc/self/task/${c.gettid()}/ns/net`, nsPath, null, MS_BIND, null), `bind mount ${nsPath}`);
    } finally {
      check(c.setns(host, CLONE_NEWNET), 'setns back to host namespace');
    }
  } catch (err) {
    fs.rmSync(nsPath, { force: true });
    throw new InternalError(`create network namespace ${nsPath}: ${(err as Error).message}`, { cause: err });
  } finally {
    depth--;
  }
}

/** Unpins and removes the namespace at nsPath; a missing one counts as removed. */
export function deleteNetns(nsPath: string): void {
  if (!fs.existsSync(nsPath)) return;
  // EINVAL means it was not a mount point (a stale file): removing the file is enough.
  const ret = libc().umount2(nsPath, MNT_DETACH);
  if (ret === -1) {
    const errno = libc().errno();
    if (errno !== 22 && errno !== 2) throw new InternalError(`delete network namespace ${nsPath}: umount errno ${errno}`);
  }
  fs.rmSync(nsPath, { force: true });
}

/** Opens a file descriptor on the namespace (for IFLA_NET_NS_FD); the caller closes it. */
export function openNetnsFd(nsPath: string): number {
  try {
    return fs.openSync(nsPath, 'r');
  } catch (err) {
    throw new NotFoundError(`network namespace ${nsPath}: does not exist`, { cause: err });
  }
}

/** Path of the namespace this process runs in, for treating "the host" like any other namespace. */
export const HOST_NETNS = '/proc/self/ns/net';
