/** A closed stdout or stderr (`tsnet ls | head -1`) ends the output, not the command. */

const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * Drops what is written after the reader went away, quietly: the command still finishes what it
 * changes (a `sandbox rm a b | true` removes both) and exits with its own status, 0 when it worked.
 */
export function quietClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (!CLOSED.has(err.code ?? '')) throw err;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}
