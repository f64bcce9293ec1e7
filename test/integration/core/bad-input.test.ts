/** Bad input through the real CLI: a clear one-line error, the kind's exit code, and nothing left behind. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, ErrorKind } from '../../../src/errors';
import { tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';

const DIR = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'cli', 'invalid');
const KIND_BY_PREFIX: Record<string, ErrorKind> = { invalid: ErrorKind.InvalidArgument, conflict: ErrorKind.Conflict, notfound: ErrorKind.NotFound };

interface Case { setup?: string[][]; args: string[]; stderr: string; teardown?: string[][] }

describe('bad input is refused cleanly (fixtures/cli/invalid)', function () {
  this.timeout(60000);
  before(() => assert.equal(tsnet('ls', '-q').status, 0));

  for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
    const kind = KIND_BY_PREFIX[file.split('-')[0]];
    it(`${file}: ${kind}`, async () => {
      const c: Case = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
      for (const step of c.setup ?? []) assert.equal(tsnet(...step).status, 0, `setup ${step.join(' ')}`);
      try {
        const kernelBefore = await snapshot();
        const keysBefore = storeKeys();
        const r = tsnet(...c.args);
        assert.equal(r.status, ERROR_CODES[kind].exit, `exit code of tsnet ${c.args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr: ${r.stderr}`);
        assert.ok(r.stderr.includes(c.stderr), `stderr "${r.stderr.trim()}" should include "${c.stderr}"`);
        assert.deepEqual(await snapshot(), kernelBefore, 'kernel unchanged');
        assert.deepEqual(storeKeys(), keysBefore, 'store unchanged');
      } finally {
        for (const step of c.teardown ?? []) tsnet(...step);
      }
    });
  }
});
