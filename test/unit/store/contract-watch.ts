/** The watch part of the Store contract suite (see contract.ts). */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { CompactedError } from '../../../src/store/store';
import type { SuiteContext } from './contract';
import { raceChildren } from './fork';
import type { WriteOp } from './store-child';
import { collect, pairs, sleep, waitFor } from './util';

/** Registers the watch tests on the suite's store. */
export function describeWatchContract(ctx: SuiteContext): void {
  const put = (entries: Record<string, unknown>) => ctx.store.txn(async (t) => { for (const [k, v] of Object.entries(entries)) t.put(k, v); });
  const del = (key: string) => ctx.store.txn((t) => t.delete(key));

  it('watch from a past revision replays every change after it, then follows, in revision order, none missed', async () => {
    await put({ 'w/a': 0 });
    const { revision: from } = await ctx.store.listAt('w/');
    await put({ 'w/a': 1, 'w/b': 1, other: 1 });
    await del('w/a');
    await put({ 'w/a': 2 });
    const c = collect(ctx.store, 'w/', from);
    try {
      await waitFor(() => c.events.length >= 4, 5000, () => JSON.stringify(c.events));
      await put({ 'w/b': 2, outside: 2 });
      await del('w/b');
      const want: [string, unknown][] = [['w/a', 1], ['w/b', 1], ['w/a', undefined], ['w/a', 2], ['w/b', 2], ['w/b', undefined]];
      await waitFor(() => c.events.length >= want.length, 5000, () => JSON.stringify(c.events));
      await sleep(100); // nothing more may come
      assert.deepEqual(pairs(c.events), want);
      const revs = c.events.map((e) => e.modRevision);
      assert.equal(revs[0], revs[1], 'one transaction, one revision');
      for (let i = 2; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `revisions ${revs.join(',')}`);
      assert.ok(revs[0] > from);
      assert.equal(c.revisions[c.revisions.length - 1] >= revs[revs.length - 1], true);
      assert.deepEqual(c.errors, []);
    } finally {
      await c.watch.close();
    }
  });

  it('watch from now delivers changes another process makes, each one, in order', async () => {
    const { revision } = await ctx.store.listAt('');
    const c = collect(ctx.store, 'x/', revision);
    try {
      const ops: WriteOp[] = [];
      for (let i = 0; i < 10; i++) ops.push({ key: `x/${i % 3}`, value: i }, { key: `y/${i}`, value: i });
      ops.push({ key: 'x/0' }, { key: 'x/1' });
      const script = path.join(__dirname, 'store-child.js');
      await raceChildren(script, [[JSON.stringify(ctx.store.spec), 'write', JSON.stringify({ ops })]]);
      const want = ops.filter((o) => o.key.startsWith('x/')).map((o) => [o.key, o.value]);
      await waitFor(() => c.events.length >= want.length, 5000, () => JSON.stringify(c.events));
      await sleep(100);
      assert.deepEqual(pairs(c.events), want);
    } finally {
      await c.watch.close();
    }
  });

  it('a closed watch delivers nothing more', async () => {
    const c = collect(ctx.store, 'z/', (await ctx.store.listAt('')).revision);
    await put({ 'z/1': 1 });
    await waitFor(() => c.events.length === 1, 5000, () => JSON.stringify(c.events));
    await c.watch.close();
    await put({ 'z/2': 2 });
    await sleep(150);
    assert.equal(c.events.length, 1);
  });

  it('watch from a compacted revision fails with CompactedError; a re-list and a watch from its revision work', async () => {
    await put({ 'c/a': 1 });
    const { revision: old } = await ctx.store.listAt('');
    await put({ 'c/a': 2 });
    await put({ 'c/b': 3 });
    const { revision: now } = await ctx.store.listAt('');
    await ctx.store.compact(now);
    const stale = collect(ctx.store, 'c/', old);
    try {
      await waitFor(() => stale.errors.length > 0, 5000, () => 'no error from a watch on compacted history');
      const err = stale.errors[0];
      assert.ok(err instanceof CompactedError, String(err));
      assert.equal(err.requested, old);
      assert.ok(err.compacted > old);
      assert.deepEqual(stale.events, []);
    } finally {
      await stale.watch.close();
    }
    const relisted = await ctx.store.listAt<number>('c/');
    assert.deepEqual(relisted.items.map((e) => e.value), [2, 3]);
    const fresh = collect(ctx.store, 'c/', relisted.revision);
    try {
      await put({ 'c/a': 4 });
      await waitFor(() => fresh.events.length === 1, 5000, () => JSON.stringify(fresh.events));
      assert.deepEqual(pairs(fresh.events), [['c/a', 4]]);
      assert.deepEqual(fresh.errors, []);
    } finally {
      await fresh.watch.close();
    }
  });
}
