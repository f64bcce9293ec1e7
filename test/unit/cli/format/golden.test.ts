/**
 * tsnet's --format against goldens printed by the real `docker network ls/inspect --format` (Debian's
 * docker.io CLI; scripts/format-goldens.ts): the same templates on the same inspect JSON print the same
 * bytes, and a template Docker refuses is refused with Docker's message.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { formatInspect, formatList } from '../../../../src/cli/format/docker';
import { NETWORK_LIST, networkRow, SANDBOX_LIST, sandboxRow, type NetworkView, type SandboxView } from '../../../../src/cli/format/contexts';
import { NETWORK_RESOURCE, SANDBOX_JSON } from '../../../../src/cli/format/types';
import type { FormatGolden, SandboxGolden } from '../../../helpers/format-cases';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', '..', 'fixtures', 'cli', 'format');
const GOLDEN = path.join(FIXTURES, 'network.golden.json');

/** What tsnet prints for a case: stdout, or the one error line. */
function outcome(fn: () => string): { stdout?: string; error?: string } {
  try {
    return { stdout: fn() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('cli format: goldens from docker network ls/inspect --format', () => {
  const golden = require(GOLDEN) as FormatGolden;
  const networks = golden.networks as NetworkView[];
  const byName = (name: string) => networks.find((n) => n.Name === name)!;

  it('has goldens from the docker CLI', () => {
    assert.match(golden.docker, /^Docker version \d+\./);
    assert.ok(golden.ls.length >= 20 && golden.inspect.length >= 20);
  });

  for (const c of golden.ls) {
    it(`ls ${c.noTrunc ? '--no-trunc ' : ''}${c.filter ? `--filter ${c.filter} ` : ''}--format ${JSON.stringify(c.format)}`, () => {
      const views = networks.filter((n) => !c.filter || n.Name.includes(c.filter.replace(/^name=/, '')));
      const got = outcome(() => formatList(c.format, views.map((n) => networkRow(n, !c.noTrunc)), NETWORK_LIST));
      if (c.error) assert.equal(got.error, c.error.stderr.trim());
      else assert.equal(got.stdout, c.stdout);
    });
  }

  for (const c of golden.inspect) {
    it(`inspect --format ${JSON.stringify(c.format)} ${c.networks.join(' ')}`, () => {
      const got = outcome(() => formatInspect(c.format, c.networks.map(byName), NETWORK_RESOURCE));
      if (c.error) assert.equal(got.error, c.error.stderr.trim());
      else assert.equal(got.stdout, c.stdout);
    });
  }
});

describe('cli format: goldens from docker ps/inspect --format on containers shaped like sandboxes', () => {
  const golden = require(path.join(FIXTURES, 'sandbox.golden.json')) as SandboxGolden;
  const containers = golden.containers as SandboxView[];
  const byName = (name: string) => containers.find((c) => c.Name === `/${name}`)!;

  for (const c of golden.ps) {
    it(`sandbox ls ${c.noTrunc ? '--no-trunc ' : ''}--format ${JSON.stringify(c.format)} (docker ps)`, () => {
      const got = outcome(() => formatList(c.format, containers.map((v) => sandboxRow(v, !c.noTrunc, Date.now())), SANDBOX_LIST));
      if (c.error) assert.equal(got.error, c.error.stderr.trim());
      else assert.equal(got.stdout, c.stdout);
    });
  }

  for (const c of golden.inspect) {
    it(`sandbox inspect --format ${JSON.stringify(c.format)} ${c.networks.join(' ')} (docker inspect)`, () => {
      const got = outcome(() => formatInspect(c.format, c.networks.map(byName), SANDBOX_JSON));
      if (c.error) assert.equal(got.error, c.error.stderr.trim());
      else assert.equal(got.stdout, c.stdout);
    });
  }
});
