/** Netlink errnos to tsnet's typed errors, with the kernel's own words (errno text and extended ACK). Pure. */
import * as util from 'node:util';
import { ConflictError, InternalError, NotFoundError, type TsnetError } from '../../errors';
import type { NetlinkStatus } from './nlmsg';

/** Errnos that mean "it is already there" or "it is in use". */
const CONFLICT = new Set(['EEXIST', 'EADDRINUSE', 'EBUSY']);
/** Errnos that mean "there is no such thing": teardown treats them as done. */
const NOT_FOUND = new Set(['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL']);

/** The raw kernel answer, kept as the cause of the typed error. */
export class NetlinkErrno extends Error {
  constructor(readonly errno: number, readonly code: string, message: string, readonly extAck?: string) {
    super(message);
    this.name = 'NetlinkErrno';
  }
}

/** The symbolic name of an errno ("EEXIST"), or "errno N" when Node does not know it. */
export function errnoName(errno: number): string {
  // Node names 95 after POSIX's ENOTSUP; the kernel's headers and messages say EOPNOTSUPP.
  if (errno === 95) return 'EOPNOTSUPP';
  const name = util.getSystemErrorName(-errno);
  return name.startsWith('E') ? name : `errno ${errno}`;
}

/**
 * The typed error for a failed request: "what: EEXIST (File exists)", then the kernel's extended
 * ACK message when it sent one. text is strerror(errno), looked up by the caller.
 */
export function netlinkError(what: string, status: NetlinkStatus, text: string): TsnetError {
  const code = errnoName(status.errno);
  const detail = `${code} (${text})${status.message ? `: ${status.message}` : ''}`;
  const cause = new NetlinkErrno(status.errno, code, detail, status.message);
  const message = `${what}: ${detail}`;
  if (CONFLICT.has(code)) return new ConflictError(message, { cause });
  if (NOT_FOUND.has(code)) return new NotFoundError(message, { cause });
  return new InternalError(message, { cause });
}
