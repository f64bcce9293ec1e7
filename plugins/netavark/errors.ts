/**
 * netavark's error contract: a failing command prints `{"error":"<message>"}` on stdout and exits
 * non-zero (netavark 1.4 src/error/mod.rs print_json; exit code 1 unless an ExitCode error says
 * otherwise). Podman decodes that object and reports `netavark: <message>`.
 */

/** An error the face reports in netavark's JSON shape. */
export class NetavarkError extends Error {
  constructor(message: string, readonly exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetavarkError';
  }
}

/** The JSON document netavark prints for an error (one line). */
export function errorJson(message: string): string {
  return JSON.stringify({ error: message });
}

/** The message of any thrown value, AggregateErrors flattened as netavark's NetavarkErrorList prints them. */
export function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) {
    const inner = err.errors.map(messageOf);
    // netavark's NetavarkErrorList wording.
    return inner.length === 1 ? inner[0] : `netavark encountered multiple errors:${inner.map((m) => `\n\t- ${m}`).join('')}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
