/** Typed errors shared by every face; one kind table maps to CNI codes, CLI exit codes and HTTP statuses. */

/** What went wrong, in libnetwork's kinds made one enum. */
export enum ErrorKind {
  InvalidArgument = 'InvalidArgument',
  NotFound = 'NotFound',
  Conflict = 'Conflict',
  Exhausted = 'Exhausted',
  Unsupported = 'Unsupported',
  /** A service tsnet depends on (the cluster store) cannot be reached now; retrying later may succeed. */
  Unavailable = 'Unavailable',
  Internal = 'Internal',
}

/** Base error: lowercase "what: why" message naming the object. */
export class TsnetError extends Error {
  constructor(readonly kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = `${kind}Error`;
  }
}

/** Malformed or contradictory input (bad CIDR, unknown driver, name too long). */
export class InvalidArgumentError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.InvalidArgument, message, options); }
}
/** A named object does not exist. */
export class NotFoundError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.NotFound, message, options); }
}
/** The request collides with existing state (overlap, name taken, port busy, network in use). */
export class ConflictError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.Conflict, message, options); }
}
/** A pool or address space has nothing left to give. */
export class ExhaustedError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.Exhausted, message, options); }
}
/** The operation is not supported by this driver or mode. */
export class UnsupportedError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.Unsupported, message, options); }
}
/** A backing service is unreachable or timed out (etcd down): transient, unlike Internal. */
export class UnavailableError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.Unavailable, message, options); }
}
/** A failure of the machine or of tsnet itself (netlink errno, iptables failure). */
export class InternalError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) { super(ErrorKind.Internal, message, options); }
}

/** Per-face codes for each kind. CNI codes follow the spec's well-known table (7 invalid config, 11 try again). */
export const ERROR_CODES: Record<ErrorKind, { cni: number; exit: number; http: number }> = {
  [ErrorKind.InvalidArgument]: { cni: 7, exit: 2, http: 400 },
  [ErrorKind.NotFound]: { cni: 999, exit: 3, http: 404 },
  [ErrorKind.Conflict]: { cni: 999, exit: 4, http: 409 },
  [ErrorKind.Exhausted]: { cni: 11, exit: 5, http: 507 },
  [ErrorKind.Unsupported]: { cni: 7, exit: 6, http: 501 },
  // CNI 11 is "try again later"; 503 tells Docker the same.
  [ErrorKind.Unavailable]: { cni: 11, exit: 7, http: 503 },
  [ErrorKind.Internal]: { cni: 999, exit: 1, http: 500 },
};

/** The kind of any thrown value: foreign errors are Internal. */
export function kindOf(err: unknown): ErrorKind {
  return err instanceof TsnetError ? err.kind : ErrorKind.Internal;
}

/** One-line message for a thrown value, including the first cause when it adds something. */
export function describe(err: unknown): string {
  if (err instanceof AggregateError) return [err.message, ...err.errors.map(describe)].join('; ');
  if (!(err instanceof Error)) return String(err);
  // One line: a failed command's cause carries its whole stderr ("Command failed: …\n…"), of which the first line says it.
  const cause = err.cause instanceof Error ? err.cause.message.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('Command failed:')) : undefined;
  const message = err.message.split('\n')[0];
  return cause && !message.includes(cause) ? `${message}: ${cause}` : message;
}
