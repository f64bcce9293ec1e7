/** run() feeding stdin to commands that do not read it: the process survives and the command fails. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const CHILD = path.join(__dirname, 'exec-child.js');
/** Far beyond a pipe's 64 KiB buffer, so the write is still pending when the command exits. */
const LARGE = 8 << 20;

/** Runs argv through run() in a child Node process; its exit status tells whether it survived. */
function runInChild(bytes: number, argv: string[]): Record<string, unknown> {
  const res = spawnSync(process.execPath, [CHILD, String(bytes), ...argv], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 0, `the process running ${argv.join(' ')} died: ${res.stderr}`);
  return JSON.parse(res.stdout) as Record<string, unknown>;
}

describe('kernel/exec', function () {
  this.timeout(60_000);

  const cases: Array<{ name: string; argv: string[]; message: string; causeCode: unknown }> = [
    { name: 'a command failing without reading its stdin', argv: ['sh', '-c', 'echo refused >&2; exit 3'], message: 'sh -c echo refused >&2; exit 3: refused', causeCode: 3 },
    { name: 'a command exiting 0 without reading its stdin', argv: ['true'], message: 'true : exited without reading all its input', causeCode: 'EPIPE' },
    { name: 'a command exiting 0 after reading 10 bytes of it', argv: ['head', '-c', '10'], message: 'head -c 10: exited without reading all its input', causeCode: 'EPIPE' },
  ];
  for (const c of cases) {
    it(`reports ${c.name} as its failure, and the process lives on`, () => {
      assert.deepEqual(runInChild(LARGE, c.argv), { ok: false, name: 'InternalError', message: c.message, causeCode: c.causeCode });
    });
  }

  it('still feeds a command that reads all its input', () => {
    assert.deepEqual(runInChild(LARGE, ['cat']), { ok: true, stdoutBytes: LARGE });
  });
});
