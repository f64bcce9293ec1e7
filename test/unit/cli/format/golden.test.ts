/**
 * tsnet's --format against goldens printed by the real `docker network ls/inspect --format` (Debian's
 * docker.io CLI; scripts/format-goldens.ts): the same templates on the same inspect JSON print the same
 * bytes, and a template Docker refuses is refused with Docker's message.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { formatInspect, formatList } from '../../../../src/cli/format/docker';
import { NETWORK_LIST, networkRow, type NetworkView } from '../../../../src/cli/format/contexts';
import { NETWORK_RESOURCE } from '../../../../src/cli/format/types';
import type { FormatGolden } from '../../../helpers/format-cases';

const GOLDEN = path.join(__dirname, '..', '..', '..', '..', '..', 'fixtures', 'cli', 'format', 'network.golden.json');

/** What tsnet prints for a case: stdout, or the one error line. */
function outcome(fn: () => string): { stdout?: string; error?: string } {
  try {
    return { stdout: fn() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('cli format: goldens from docker network ls/inspect --format', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
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
