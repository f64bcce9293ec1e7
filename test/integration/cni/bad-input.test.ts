/**
 * The bad-input corpus, fixtures/cni/invalid/<code>-<case>.json (stdin) with an optional
 * <code>-<case>.env.json (CNI_* overrides; null removes one): each gets its spec error code, on
 * stdout as the spec's error JSON with a non-zero exit, and changes nothing in the kernel or store.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { binDirs } from './plugin';
import { execFile, findPlugin } from './runtime';
import { RUN, Scratch } from './harness';

const DIR = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'cni', 'invalid');

describe('tsnet-cni bad-input corpus', function () {
  this.timeout(60000);
  const s = new Scratch();
  let netns = '';
  before(() => {
    assert.equal(tsnet('ls', '-q').status, 0);
    netns = s.netns(`cbad-${RUN}`);
  });
  after(() => s.cleanup());

  const cases = fs.readdirSync(DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.env.json')).sort();
  it('has one case per well-known code it can produce', () => {
    assert.deepEqual([...new Set(cases.map((f) => Number(f.split('-')[0])))].sort((a, b) => a - b), [1, 2, 3, 4, 6, 7]);
  });

  for (const file of cases) {
    const expected = Number(file.split('-')[0]);
    it(`${file} → code ${expected}, nothing changed`, async () => {
      const envFile = path.join(DIR, file.replace(/\.json$/, '.env.json'));
      const overrides: Record<string, string | null> = fs.existsSync(envFile) ? JSON.parse(fs.readFileSync(envFile, 'utf8')) : {};
      const dirs = await binDirs();
      const extra: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(overrides)) extra[k] = v === null ? undefined : v;
      const kernel = await snapshot();
      const keys = storeKeys();
      const r = await execFile(findPlugin('tsnet-cni', dirs), { command: 'ADD', containerId: `bad-${RUN}`, netns, ifname: 'eth0', extra }, fs.readFileSync(path.join(DIR, file), 'utf8'), dirs);
      assert.notEqual(r.code, 0);
      assert.ok(r.json, `stdout is the error JSON: ${r.stdout}`);
      assert.equal(r.json.code, expected, String(r.json.msg));
      assert.equal(typeof r.json.msg, 'string');
      assert.match(String(r.json.cniVersion), /^\d+\.\d+\.\d+$/);
      assert.equal(r.stdout.trim().split('\n').length, 1);
      assert.deepEqual(await snapshot(), kernel);
      assert.deepEqual(storeKeys(), keys);
    });
  }
});
