/**
 * The core, loaded on first use: `tsnet --help`, parsing and a refused flag load none of it, and the
 * bundle (scripts/cli-bundle.ts) keeps it in a chunk evaluated only when a command needs it.
 */
import type * as Core from '../index';

let loaded: typeof Core | undefined;

/** The library (src/index.ts), loaded once. */
export function core(): typeof Core {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('../index') as typeof Core);
}

/** An InvalidArgument error (exit 2) for a bad flag value. */
export function invalid(message: string): Error {
  return new (core().InvalidArgumentError)(message);
}
