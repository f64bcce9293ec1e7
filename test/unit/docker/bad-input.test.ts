/**
 * The bad-request corpus (fixtures/docker/invalid, one case per file, the expected answer's kind in
 * the name) against an empty store: every case gets its answer and changes nothing.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { testPlugin, type TestPlugin } from './helpers';

const DIR = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'docker', 'invalid');

/** The answer each kind of case must get: HTTP status and what the Err says. */
const EXPECT: Record<string, { status: number; err: RegExp }> = {
  malformed: { status: 400, err: /invalid (request|JSON)/ },
  invalid: { status: 200, err: /./ },
  notfound: { status: 200, err: /not found/ },
  unsupported: { status: 200, err: /local|cluster-wide/ },
};

interface Case {
  path: string;
  body?: unknown;
  raw?: string;
}

describe('docker plugin: bad requests (fixtures/docker/invalid)', () => {
  let plugin: TestPlugin;
  beforeEach(() => (plugin = testPlugin()));
  afterEach(() => plugin.dispose());

  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  it('has cases of every kind', () => {
    for (const kind of Object.keys(EXPECT)) assert.ok(files.some((f) => f.startsWith(`${kind}-`)), `no ${kind}-* case`);
  });

  for (const file of files) {
    const kind = file.slice(0, file.indexOf('-'));
    it(file.replace(/\.json$/, ''), async () => {
      const c = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Case;
      const expect = EXPECT[kind];
      assert.ok(expect, `unknown case kind in ${file}`);
      const res = await plugin.call(c.path, c.body, { raw: c.raw });
      assert.equal(res.status, expect.status, JSON.stringify(res.body));
      assert.match(String(res.body.Err), expect.err);
      assert.deepEqual(Object.keys(res.body), ['Err'], 'an error answer carries nothing else');
      assert.deepEqual(await plugin.core.local.list(''), [], 'nothing was recorded');
      assert.equal(plugin.bridge.bridges.size + plugin.firewall.networks.size, 0, 'nothing was made');
    });
  }
});
