/**
 * A synchronous NETLINK_ROUTE socket, as netavark's netlink.rs: send one request, then block in
 * recv until the kernel has answered that sequence number. Calls never overlap on a socket, so
 * dumps cannot interleave, and nothing calls back into JavaScript from native code.
 * The kernel does the work inside sendto (under rtnl_lock, tens of µs), so blocking is short.
 */
import { InternalError, InvalidArgumentError, TsnetError } from '../../errors';
import { log } from '../../log';
import { check, libc } from '../libc';
import { withNetns } from '../netns';
import { AF_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, SOL_NETLINK } from './constants';
import { netlinkError } from './errors';
import { absorb, type Answer, encodeMessage, type Message, type NetlinkStatus, newAnswer, parseMessages, type Request } from './nlmsg';

/** How long a call waits for the kernel's next message before it fails. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Socket receive buffer: a dump's parts queue here while we parse the previous one. */
export const RCVBUF_BYTES = 1 << 20;
/** How often a dump the kernel marks inconsistent (NLM_F_DUMP_INTR) is retried before failing. */
const DUMP_RETRIES = 3;

const SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_ROUTE = 0;
const SOL_SOCKET = 1, SO_RCVBUF = 8, SO_RCVTIMEO = 20, SO_RCVBUFFORCE = 33;
const MSG_TRUNC = 0x20, EINTR = 4, EAGAIN = 11;
/** Every packet in hex, as netavark traces its netlink traffic (TSNET_DEBUG=tsnet:kernel:netlink). */
const trace = log('tsnet:kernel:netlink');
/** First user-space read buffer: dumps come in datagrams of at most 32 KiB (netlink_recvmsg caps them). */
const READ_BUF_BYTES = 64 * 1024;

/** struct sockaddr_nl { u16 family; u16 pad; u32 pid; u32 groups; } for the kernel (pid 0, no groups). */
function sockaddrNl(): Buffer {
  const sa = Buffer.alloc(12);
  sa.writeUInt16LE(AF_NETLINK, 0);
  return sa;
}

/** setsockopt with a 4-byte int. */
function setInt(fd: number, level: number, name: number, value: number): number {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  return libc().setsockopt(fd, level, name, v, 4);
}

/** Closes descriptors of sockets that were dropped without close(). */
const leaked = new FinalizationRegistry<number>((fd) => libc().close(fd));

/** One NETLINK_ROUTE socket in the namespace it was opened in. */
export class RtnlSocket {
  private seq = 0;
  private buf = Buffer.alloc(READ_BUF_BYTES);
  private readonly token = {};

  private constructor(private fd: number, readonly timeoutMs: number) {
    leaked.register(this, fd, this.token);
  }

  /** Opens a socket in the namespace at nsPath (the process's own when undefined); it stays in that namespace. */
  static open(nsPath?: string, timeoutMs = DEFAULT_TIMEOUT_MS): RtnlSocket {
    // SO_RCVTIMEO of zero would mean "wait for ever", the very hang this socket exists to prevent.
    if (!(timeoutMs >= 1)) throw new InvalidArgumentError(`netlink timeout ${timeoutMs} ms: must be at least 1 ms`);
    const c = libc();
    const make = () => check(c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), 'socket(AF_NETLINK)');
    let fd: number;
    try {
      fd = nsPath ? withNetns(nsPath, make) : make();
    } catch (err) {
      if (err instanceof TsnetError) throw err;
      throw new InternalError(`open netlink socket${nsPath ? ` in ${nsPath}` : ''}: ${(err as Error).message}`, { cause: err });
    }
    try {
      check(c.bind(fd, sockaddrNl(), 12), 'bind');
      // Extended ACK: the kernel explains refusals in words. CAP_ACK: errors do not echo the request.
      // GET_STRICT_CHK: dump filters in the header (link, family) are honoured, not silently ignored.
      for (const opt of [NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK]) check(setInt(fd, SOL_NETLINK, opt, 1), `setsockopt SOL_NETLINK ${opt}`);
      // FORCE passes rmem_max as root; otherwise the kernel clamps the plain request.
      if (setInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES) < 0) check(setInt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF_BYTES), 'setsockopt SO_RCVBUF');
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
      tv.writeBigInt64LE(BigInt(Math.floor((timeoutMs % 1000) * 1000)), 8);
      check(c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), 'setsockopt SO_RCVTIMEO');
    } catch (err) {
      c.close(fd);
      throw new InternalError(`open netlink socket: ${(err as Error).message}`, { cause: err });
    }
    return new RtnlSocket(fd, timeoutMs);
  }

  /** Closes the socket; later calls fail with an InternalError. */
  close(): void {
    if (this.fd < 0) return;
    leaked.unregister(this.token);
    libc().close(this.fd);
    this.fd = -1;
  }

  /** Sends req and returns the data messages of its answer; a refusal throws the typed error for what. */
  request(what: string, req: Request): Message[] {
    return this.exchange(what, req).messages;
  }

  /** Like request, for dumps: a dump the kernel marks interrupted by a concurrent change is retried. */
  dump(what: string, req: Request): Message[] {
    for (let attempt = 1; ; attempt++) {
      const { messages, interrupted } = this.exchange(what, req);
      if (!interrupted) return messages;
      if (attempt === DUMP_RETRIES) throw new InternalError(`${what}: dump interrupted by concurrent changes ${DUMP_RETRIES} times`);
    }
  }

  /** One request and its whole answer: sent with the next sequence number, read to its ACK, error or DONE. */
  private exchange(what: string, req: Request): Answer {
    if (this.fd < 0) throw new InternalError(`${what}: netlink handle is closed`);
    const c = libc();
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    const wire = encodeMessage(req, seq);
    if (trace.enabled) trace(`${what}: send ${wire.toString('hex')}`);
    const sa = sockaddrNl();
    while (c.sendto(this.fd, wire, wire.length, 0, sa, 12) < 0) {
      const errno = c.errno();
      if (errno !== EINTR) throw this.fail(what, { errno });
    }
    const answer = newAnswer();
    while (!answer.done) absorb(answer, this.receive(what), seq, req.flags);
    if (answer.status?.errno) throw this.fail(what, answer.status);
    return answer;
  }

  /** The messages of the next datagram, waiting at most timeoutMs for it. */
  private receive(what: string): Message[] {
    const c = libc();
    for (;;) {
      const n = Number(c.recv(this.fd, this.buf, this.buf.length, MSG_TRUNC));
      if (n >= 0 && n <= this.buf.length) {
        if (trace.enabled) trace(`${what}: recv ${this.buf.subarray(0, n).toString('hex')}`);
        try {
          return parseMessages(this.buf.subarray(0, n));
        } catch (err) {
          throw new InternalError(`${what}: ${(err as Error).message}`, { cause: err });
        }
      }
      if (n > this.buf.length) {
        // MSG_TRUNC reports the datagram's real size; it is lost, but the next one fits.
        this.buf = Buffer.alloc(n);
        throw new InternalError(`${what}: kernel reply of ${n} bytes was truncated`);
      }
      const errno = c.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) throw new InternalError(`${what}: no answer from the kernel within ${this.timeoutMs} ms`);
      throw this.fail(what, { errno });
    }
  }

  /** The typed error for an errno, with strerror's text. */
  private fail(what: string, status: NetlinkStatus): TsnetError {
    return netlinkError(what, status, libc().strerror(status.errno));
  }
}
