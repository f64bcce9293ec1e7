/**
 * The CNI spec's well-known error codes and the error type that carries one. Kept free of tsnet's
 * core so VERSION and error reporting load nothing heavy; handlers.ts maps tsnet's kinds onto these.
 */

/** Well-known error codes of the CNI spec (1.1.0, "Error" section); 100+ would be plugin-specific. */
export const CniCode = {
  /** The config's cniVersion is not one this plugin speaks, or the command needs a newer one. */
  IncompatibleVersion: 1,
  /** A field the plugin does not support; the message names the key and value. */
  UnsupportedField: 2,
  /** The container (or attachment) is unknown or does not exist. */
  UnknownContainer: 3,
  /** A required CNI_* environment variable is missing or malformed. */
  InvalidEnvironment: 4,
  /** Reading stdin or writing state failed. */
  IoFailure: 5,
  /** stdin is not JSON. */
  DecodingFailure: 6,
  /** The network configuration is invalid. */
  InvalidNetworkConfig: 7,
  /** A transient condition (contention, exhausted pool); the runtime may retry later. */
  TryAgainLater: 11,
  /** STATUS: the plugin cannot take ADDs now. */
  PluginNotAvailable: 50,
  /** STATUS: not available, and existing containers may be damaged. */
  PluginNotAvailableLimited: 51,
  /** Anything else. */
  Internal: 999,
} as const;

/** One of the codes above. */
export type CniErrorCode = (typeof CniCode)[keyof typeof CniCode];

/** An error the plugin reports as the spec's error JSON. */
export class CniError extends Error {
  constructor(readonly code: CniErrorCode, message: string, readonly details?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CniError';
  }
}

/** The spec's error document, printed on stdout with a non-zero exit. */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** The error document for err, in the given spec version. */
export function errorJson(err: CniError, cniVersion: string): CniErrorJson {
  const out: CniErrorJson = { cniVersion, code: err.code, msg: err.message };
  if (err.details) out.details = err.details;
  return out;
}
