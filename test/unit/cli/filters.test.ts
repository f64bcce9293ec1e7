import { strict as assert } from 'node:assert';
import { listFilter, pruneFilter, untilInstant } from '../../../src/cli/filters';
import type { Network } from '../../../src/index';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const net = (name: string, created: string, labels: Record<string, string> = {}, predefined = false) => ({ name, id: 'ab'.repeat(32), driver: 'bridge', scope: 'local', created, labels, info: { predefined } }) as unknown as Network;

describe('cli filters', () => {
  it('reads until= as a Go duration, a Unix time or an RFC 3339 date', () => {
    const cases: [string, number][] = [
      ['24h', NOW - 86_400_000], ['1h30m', NOW - 5_400_000], ['90s', NOW - 90_000], ['1.5h', NOW - 5_400_000],
      ['1700000000', 1_700_000_000_000], ['2026-12-01', Date.parse('2026-12-01')], ['2026-12-01T10:00:00Z', Date.parse('2026-12-01T10:00:00Z')],
    ];
    for (const [v, want] of cases) assert.equal(untilInstant(v, NOW), want, v);
    for (const bad of ['soon', '24x', 'h', '2026-13-45x', '']) assert.throws(() => untilInstant(bad, NOW), /invalid filter "until=/, bad);
  });

  it('prunes by until, label and label!', () => {
    const old = net('old', '2026-12-01T00:00:00Z', { tier: 'web' });
    const fresh = net('fresh', '2026-12-03T11:59:00Z', { keep: '' });
    const pick = (filters: string[]) => [old, fresh].filter(pruneFilter(filters, NOW)).map((n) => n.name);
    assert.deepEqual(pick([]), ['old', 'fresh']);
    assert.deepEqual(pick(['until=24h']), ['old']);
    assert.deepEqual(pick(['label=tier=web']), ['old']);
    assert.deepEqual(pick(['label=tier=db']), []);
    assert.deepEqual(pick(['label!=keep']), ['old']);
    assert.deepEqual(pick(['label=keep']), ['fresh']);
    assert.throws(() => pruneFilter(['name=x']), /invalid filter "name=x"/);
  });

  it('lists dangling networks: user-defined and unused', () => {
    const listed = [{ net: net('bridge', '', {}, true), inUse: false }, { net: net('a', ''), inUse: true }, { net: net('b', ''), inUse: false }];
    assert.deepEqual(listed.filter(listFilter(['dangling=true'])).map((l) => l.net.name), ['b']);
    assert.deepEqual(listed.filter(listFilter(['dangling=false'])).map((l) => l.net.name), ['bridge', 'a']);
    assert.throws(() => listFilter(['dangling=yes']), /dangling=yes/);
  });
});
