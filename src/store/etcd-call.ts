/**
 * Every call to etcd goes through here: it gets a deadline, an unreachable cluster is retried until
 * that deadline (so a member restarting within it goes unnoticed), and what is left is turned into
 * one-line tsnet errors naming the endpoint, e.g.
 * `cluster store etcd://127.0.0.1:2379: unavailable (connect ECONNREFUSED)`.
 */
import type * as Etcd from 'etcd3';
import { InternalError, NotFoundError, TsnetError, UnavailableError } from '../errors';
import { RetrySignal } from './stm';

/** Default deadline of one store operation: etcd down fails it within this, plus a retry pause. */
export const DEFAULT_TIMEOUT_MS = 4000;
/** Pause between attempts while the cluster is unreachable. */
const RETRY_MS = 100;

/** gRPC options of one attempt. */
export interface CallOptions {
  /** Absolute time (ms since the epoch) the attempt must end by. */
  deadline: number;
}

/** Runs calls against one cluster with deadlines and turns their failures into tsnet errors. */
export class EtcdCaller {
  constructor(
    private readonly etcd: typeof Etcd,
    readonly endpoint: string,
    readonly timeoutMs: number,
  ) {}

  /** Runs rpc, again while the cluster is unreachable, until the deadline; throws tsnet errors only. */
  async call<T>(what: string, rpc: (opts: CallOptions) => Promise<T>): Promise<T> {
    const giveUp = Date.now() + this.timeoutMs;
    for (;;) {
      try {
        return await rpc({ deadline: giveUp });
      } catch (err) {
        if (!this.isUnavailable(err)) throw this.translate(what, err);
        if (Date.now() + RETRY_MS >= giveUp) throw this.unavailable(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** True for failures that say nothing about the request itself: no connection, no leader, timed out. */
  isUnavailable(err: unknown): boolean {
    return err instanceof this.etcd.GRPCUnavailableError || err instanceof this.etcd.GRPCDeadlineExceededError;
  }

  /** True when etcd says a revision was compacted away. */
  isCompacted(err: unknown): boolean {
    return err instanceof this.etcd.GRPCOutOfRangeError && /compacted/.test(err.message);
  }

  /** A raw gRPC error (from a stream) as the etcd3 client's typed error. */
  cast(err: Error): Error {
    return this.etcd.castGrpcError(err);
  }

  /** The one-line UnavailableError for err; suffix adds what the caller must know (an unknown outcome). */
  unavailable(err: unknown, suffix = ''): UnavailableError {
    return new UnavailableError(`cluster store ${this.endpoint}: unavailable (${shortReason(err)})${suffix}`, { cause: err });
  }

  /** A tsnet error for a failure that is not unavailability. */
  translate(what: string, err: unknown): Error {
    if (err instanceof TsnetError || err instanceof RetrySignal) return err;
    if (err instanceof this.etcd.EtcdLeaseInvalidError) return new NotFoundError(`${what}: lease not found (expired or revoked)`, { cause: err });
    const message = err instanceof Error ? err.message.replace(/^\d+ [A-Z_]+: /, '') : String(err);
    if (/too many operations in txn request/.test(message)) {
      return new InternalError(`cluster store ${this.endpoint}: ${what}: more operations than the server's --max-txn-ops allows`, { cause: err });
    }
    return new InternalError(`cluster store ${this.endpoint}: ${what}: ${message}`, { cause: err });
  }
}

/**
 * The useful part of a gRPC failure: "connect ECONNREFUSED" out of "14 UNAVAILABLE: No connection
 * established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ".
 */
export function shortReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const last = /Last error: (?:\w*Error: )?(.*?)(?:\.\s*Resolution note.*)?$/.exec(message);
  if (last) return last[1].replace(/\s+\[?[0-9a-fA-F:.]+\]?:\d+$/, '');
  if (/DEADLINE_EXCEEDED|deadline exceeded/i.test(message)) return 'deadline exceeded';
  return message.replace(/^\d+ [A-Z_]+: /, '').split('\n')[0];
}
