/**
 * Child process for the exec tests: runs one command through run() with INPUT_BYTES of stdin and
 * prints the outcome as JSON, after a pause in which a late, unguarded stdin error would crash it.
 * argv: INPUT_BYTES FILE [ARGS...]
 */
import { run } from '../../../src/kernel/exec';

async function main(): Promise<void> {
  const [bytes, file, ...args] = process.argv.slice(2);
  const input = 'x'.repeat(Number(bytes));
  let outcome: Record<string, unknown>;
  try {
    const { stdout } = await run(file, args, { input });
    outcome = { ok: true, stdoutBytes: stdout.length };
  } catch (err) {
    const cause = (err as Error).cause as { code?: unknown } | undefined;
    outcome = { ok: false, name: (err as Error).name, message: (err as Error).message, causeCode: cause?.code };
  }
  await new Promise((r) => setTimeout(r, 300));
  process.stdout.write(JSON.stringify(outcome));
}

void main();
