/** Bad input through the real CLI: a clear one-line error, the kind's exit code, and nothing left behind. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, ErrorKind } from '../../../src/errors';
import { tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';

const DIR = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'cli', 'invalid');
const KIND_BY_PREFIX: Record<string, ErrorKind> = {
  invalid: ErrorKind.InvalidArgument, conflict: ErrorKind.Conflict, notfound: ErrorKind.NotFound, unsupported: ErrorKind.Unsupported,
};

interface Case { setup?: string[][]; args: string[]; stderr: string; teardown?: string[][] }

/** Driver options the bridge driver refuses by name: a typo would silently leave a setting off, an unimplemented Docker key would be ignored. */
const OPTION_CASES: Record<string, Case> = {
  'invalid-unknown-bridge-option': {
    args: ['create', '--subnet', '172.16.90.0/24', '-o', 'com.docker.network.bridge.enable_icc_typo=false', 'typo-net'],
    stderr: 'unknown option "com.docker.network.bridge.enable_icc_typo" for the bridge driver',
  },
  'unsupported-docker-bridge-option': {
    args: ['create', '--subnet', '172.16.90.0/24', '-o', 'com.docker.network.bridge.gateway_mode_ipv4=routed', 'routed-net'],
    stderr: 'option com.docker.network.bridge.gateway_mode_ipv4 is not supported',
  },
};

/** Every case: the fixture files, then the inline ones. */
function cases(): [string, () => Case][] {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  return [
    ...files.map((f): [string, () => Case] => [f, () => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Case]),
    ...Object.entries(OPTION_CASES).map(([name, c]): [string, () => Case] => [name, () => c]),
  ];
}

describe('bad input is refused cleanly (fixtures/cli/invalid)', function () {
  this.timeout(60000);
  before(() => assert.equal(tsnet('ls', '-q').status, 0));

  for (const [name, load] of cases()) {
    const kind = KIND_BY_PREFIX[name.split('-')[0]];
    it(`${name}: ${kind}`, async () => {
      assert.ok(kind, `unknown case kind in ${name}`);
      const c = load();
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
