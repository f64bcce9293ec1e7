/**
 * Listening sockets inside a sandbox's network namespace. A socket keeps the namespace it was
 * created in, so only socket(2) runs inside (through withNetns); bind happens after, and Node
 * adopts the bound descriptor. Node's own dgram.bind()/listen() would create the socket later,
 * asynchronously, in the process's namespace instead.
 */
import { InternalError } from '../errors';
import { ipToBuffer } from '../kernel/addr';
import { check, libc } from '../kernel/libc';
import { withNetns } from '../kernel/netns';

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
/** Non-blocking, as libuv wants; close-on-exec, so helpers we start (dig, dnsmasq) do not inherit it. */
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;

/** setsockopt(2) with an int value. */
function setsockopt(fd: number, level: number, name: number, value: number): void {
  const val = Buffer.alloc(4);
  val.writeInt32LE(value);
  check(libc().setsockopt(fd, level, name, val, 4), 'setsockopt');
}

/** struct sockaddr_in for address:port. */
function sockaddrIn(address: string, port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  ipToBuffer(address).copy(sa, 4);
  return sa;
}

/** A socket of kind, created in the namespace at nsPath and bound to address:port (IPv4); the caller owns the fd. */
export function boundSocketInNetns(nsPath: string, kind: 'udp' | 'tcp', address: string, port: number): number {
  const c = libc();
  const type = (kind === 'udp' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const fd = withNetns(nsPath, () => check(c.socket(AF_INET, type, 0), `socket ${kind}`));
  try {
    // A restarted resolver must not wait out TIME_WAIT connections of the previous one.
    if (kind === 'tcp') setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    check(c.bind(fd, sockaddrIn(address, port), 16), `bind ${address}:${port}`);
    return fd;
  } catch (err) {
    c.close(fd);
    const errno = (err as { errno?: number }).errno;
    const why = errno === EADDRNOTAVAIL ? 'address not available (is loopback up in the sandbox?)'
      : errno === EADDRINUSE ? 'address already in use' : (err as Error).message;
    throw new InternalError(`dns listener ${kind} ${address}:${port} in ${nsPath}: ${why}`, { cause: err });
  }
}

/** Closes an fd that Node never adopted. */
export function closeFd(fd: number): void {
  libc().close(fd);
}
