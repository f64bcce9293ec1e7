/** libc entry points tsnet needs that Node lacks (setns, unshare, mount), bound once through koffi. */
import koffi from 'koffi';

/** Clone flag for network namespaces. */
export const CLONE_NEWNET = 0x40000000;
/** mount(2) flag: bind mount. */
export const MS_BIND = 4096;
/** umount2(2) flag: lazy detach. */
export const MNT_DETACH = 2;

interface Libc {
  setns(fd: number, nstype: number): number;
  unshare(flags: number): number;
  mount(src: string, target: string, fstype: string | null, flags: number, data: null): number;
  umount2(target: string, flags: number): number;
  gettid(): number;
  sethostname(name: string, len: number): number;
  setdomainname(name: string, len: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  close(fd: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  strerror(errno: number): string;
  errno(): number;
}

let bound: Libc | undefined;

/** Lazily loaded libc functions (koffi load costs a few ms; most commands never need it). */
export function libc(): Libc {
  if (bound) return bound;
  const lib = koffi.load('libc.so.6');
  bound = {
    setns: lib.func('int setns(int fd, int nstype)'),
    unshare: lib.func('int unshare(int flags)'),
    mount: lib.func('int mount(const char *src, const char *tgt, const char *fstype, unsigned long flags, void *data)'),
    umount2: lib.func('int umount2(const char *tgt, int flags)'),
    gettid: lib.func('int gettid(void)'),
    sethostname: lib.func('int sethostname(const char *name, size_t len)'),
    setdomainname: lib.func('int setdomainname(const char *name, size_t len)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32_t len)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)'),
    close: lib.func('int close(int fd)'),
    sendto: lib.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)'),
    // Buffers are passed in place, so recv fills the caller's memory.
    recv: lib.func('long recv(int fd, void *buf, size_t len, int flags)'),
    strerror: lib.func('const char *strerror(int errnum)'),
    // The thread's current errno: callers read it right after the failed call, before other native work.
    errno: () => koffi.errno(),
  } as Libc;
  return bound;
}

/** Throws an Error naming the call and errno when a libc call returned -1. */
export function check(ret: number, what: string): number {
  if (ret === -1) {
    const errno = libc().errno();
    const err = new Error(`${what}: errno ${errno}`) as Error & { errno: number };
    err.errno = errno;
    throw err;
  }
  return ret;
}

/** flock(2) operation: take the exclusive lock. */
export const LOCK_EX = 2;
/** flock(2) flag: fail with EWOULDBLOCK instead of waiting for the holder. */
export const LOCK_NB = 4;
/** flock(2) operation: drop the lock. */
export const LOCK_UN = 8;
/** errno when a LOCK_NB request finds the lock held (EAGAIN on Linux). */
export const EWOULDBLOCK = 11;
/** errno when a signal interrupted the call. */
export const EINTR = 4;

let flockCall: ((fd: number, operation: number) => number) | undefined;

/**
 * flock(2) on fd, the lock the CNI shim takes on daemon.start: 0, or -1 with errno set (read it
 * with libc().errno() before any other libc call). Bound apart from the Libc table, which only
 * the lock needs; dlopen hands back the libc already loaded.
 */
export function flock(fd: number, operation: number): number {
  // Bound first: loading libc after a failed flock could overwrite the errno the caller reads next.
  libc();
  flockCall ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)') as (fd: number, operation: number) => number;
  return flockCall(fd, operation);
}

/** prctl's PR_SET_PDEATHSIG: the kernel signals this process when its parent dies. */
const PR_SET_PDEATHSIG = 1;
let prctlCall: ((option: number, arg2: number) => number) | undefined;

/** Asks the kernel to SIGKILL this process when its parent (a supervisor) dies, even by SIGKILL. */
export function dieWithParent(): void {
  prctlCall ??= koffi.load('libc.so.6').func('int prctl(int option, unsigned long arg2)') as (option: number, arg2: number) => number;
  check(prctlCall(PR_SET_PDEATHSIG, 9), 'prctl(PR_SET_PDEATHSIG)');
}
