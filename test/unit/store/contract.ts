/**
 * The Store contract suite: one set of tests every backend must pass (SQLite in
 * test/unit/store/sqlite.test.ts, etcd in test/integration/store/etcd.test.ts). Reads and
 * transactions are here; watches and leases in contract-watch.ts and contract-lease.ts.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ConflictError, ErrorKind, TsnetError } from '../../../src/errors';
import { describeLeaseContract } from './contract-lease';
import { describeWatchContract } from './contract-watch';
import { raceChildren } from './fork';
import type { StoreUnderTest } from './spec';

/** Opens a fresh, empty store for one test. */
export type OpenStore = () => Promise<StoreUnderTest>;

/** Registers the whole contract suite for one backend. */
export function describeStoreContract(name: string, open: OpenStore): void {
  describe(`store contract: ${name}`, function () {
    this.timeout(30000);
    const ctx = { store: undefined as unknown as StoreUnderTest };
    beforeEach(async () => { ctx.store = await open(); });
    afterEach(async () => { await ctx.store.close(); });
    describeReads(ctx);
    describeTransactions(ctx);
    describeWatchContract(ctx);
    describeLeaseContract(ctx);
  });
}

/** The store of the running test (set in beforeEach). */
export interface SuiteContext {
  store: StoreUnderTest;
}

/** Puts every entry in one transaction. */
export function putAll(ctx: SuiteContext, entries: Record<string, unknown>): Promise<void> {
  return ctx.store.txn(async (t) => { for (const [k, v] of Object.entries(entries)) t.put(k, v); });
}

function describeReads(ctx: SuiteContext): void {
  it('get returns what a transaction committed, JSON intact, and undefined for an absent key', async () => {
    const values = { s: 'text', n: 42, z: 0, f: false, o: { a: [1, { b: null }] }, e: '' };
    await putAll(ctx, values);
    for (const [k, v] of Object.entries(values)) assert.deepEqual(await ctx.store.get(k), v, k);
    assert.equal(await ctx.store.get('absent'), undefined);
  });

  it('list returns exactly the prefix, in byte order of the keys', async () => {
    await putAll(ctx, { 'a/2': 2, 'a/1': 1, ab: 3, 'b/1': 4, 'a/z': 5, 'a/é': 6, 'a/😀': 7, a: 8 });
    const got = await ctx.store.list('a/');
    assert.deepEqual(got.map((e) => [e.key, e.value]), [['a/1', 1], ['a/2', 2], ['a/z', 5], ['a/é', 6], ['a/😀', 7]]);
    assert.equal((await ctx.store.list('')).length, 8);
    assert.deepEqual(await ctx.store.list('nothing/'), []);
  });

  it('one revision per committed transaction; reads and empty transactions take none', async () => {
    await putAll(ctx, { x: 1, y: 2 });
    const first = await ctx.store.list('');
    assert.equal(first[0].modRevision, first[1].modRevision);
    const { revision } = await ctx.store.listAt('');
    assert.equal(revision >= first[0].modRevision, true);
    await ctx.store.txn(async (t) => t.get('x'));
    await ctx.store.txn(async (t) => t.delete('absent'));
    assert.equal((await ctx.store.listAt('')).revision, revision);
    await putAll(ctx, { y: 3 });
    const [x, y] = await ctx.store.list('');
    assert.equal(x.modRevision, first[0].modRevision);
    assert.equal(y.modRevision > revision, true);
  });

  it('listAt gives the revision its listing is consistent at', async () => {
    await putAll(ctx, { 'l/1': 1 });
    const at = await ctx.store.listAt<number>('l/');
    assert.deepEqual(at.items.map((e) => e.value), [1]);
    assert.ok(at.items.every((e) => e.modRevision <= at.revision));
    await putAll(ctx, { 'l/2': 2 });
    const later = await ctx.store.listAt('l/');
    assert.ok(later.items[1].modRevision > at.revision);
    assert.ok(later.revision >= later.items[1].modRevision);
  });
}

function describeTransactions(ctx: SuiteContext): void {
  it('reads its own writes: get and list see puts and deletes made earlier in the transaction', async () => {
    await putAll(ctx, { 'p/1': 1, 'p/2': 2 });
    const seen = await ctx.store.txn(async (t) => {
      t.put('p/3', 3);
      assert.equal(await t.delete('p/1'), true);
      t.put('p/2', 20);
      return { list: (await t.list<number>('p/')).map((e) => [e.key, e.value]), one: await t.get('p/1'), three: await t.get('p/3') };
    });
    assert.deepEqual(seen, { list: [['p/2', 20], ['p/3', 3]], one: undefined, three: 3 });
    assert.deepEqual((await ctx.store.list('p/')).map((e) => e.value), [20, 3]);
  });

  it('writes nothing when fn throws, and rethrows its error', async () => {
    await putAll(ctx, { keep: 1 });
    const boom = new Error('boom');
    await assert.rejects(ctx.store.txn(async (t) => { t.put('x', 1); await t.delete('keep'); throw boom; }), (err) => err === boom);
    assert.equal(await ctx.store.get('x'), undefined);
    assert.equal(await ctx.store.get('keep'), 1);
  });

  it('create is create-if-absent and delete reports whether the key was there', async () => {
    assert.equal(await ctx.store.txn((t) => t.create('k', 1)), true);
    assert.equal(await ctx.store.txn((t) => t.create('k', 2)), false);
    assert.equal(await ctx.store.get('k'), 1);
    assert.equal(await ctx.store.txn((t) => t.delete('k')), true);
    assert.equal(await ctx.store.txn((t) => t.delete('k')), false);
    assert.equal(await ctx.store.txn((t) => t.create('k', 3)), true);
    assert.equal(await ctx.store.get('k'), 3);
  });

  it('reads one snapshot: a commit landing between two reads is seen by both or by neither', async () => {
    await putAll(ctx, { a: 0, b: 0 });
    let runs = 0;
    const pair = await ctx.store.txn(async (t) => {
      runs++;
      const a = await t.get<number>('a');
      if (runs === 1) await putAll(ctx, { a: 1, b: 1 });
      return [a, await t.get<number>('b')];
    });
    assert.equal(pair[0], pair[1], `read a=${pair[0]} but b=${pair[1]}`);
  });

  it('two racing read-modify-write transactions on one counter: the loser runs again, no update is lost', async () => {
    let runs = 0;
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((resolve) => { release = resolve; });
    const increment = () => ctx.store.txn(async (t) => {
      runs++;
      const n = (await t.get<number>('n')) ?? 0;
      if (++arrived === 2) release();
      await bothRead; // both have read 0 before either commits
      t.put('n', n + 1);
    });
    await Promise.all([increment(), increment()]);
    assert.equal(await ctx.store.get('n'), 2);
    assert.equal(runs, 3);
  });

  it('a listed prefix is read too: a key created in it (even when it listed empty) or deleted from it re-runs the transaction', async () => {
    for (const [before, outside, want] of [[{}, { 'q/new': 1 }, 1], [{ 'q/old': 1 }, null, 0]] as const) {
      await putAll(ctx, { ...before, count: -1 });
      let runs = 0;
      await ctx.store.txn(async (t) => {
        runs++;
        const n = (await t.list('q/')).length;
        if (runs === 1) await ctx.store.txn(async (o) => { if (outside) o.put('q/new', 1); else await o.delete('q/old'); });
        t.put('count', n);
      });
      assert.equal(await ctx.store.get('count'), want);
      assert.equal(runs, 2);
      await ctx.store.txn(async (t) => { await t.delete('q/new'); });
    }
  });

  it('reports a conflict that outlasts opts.attempts as ConflictError, writing nothing', async () => {
    await putAll(ctx, { c: 0 });
    const err = await ctx.store.txn(async (t) => {
      const c = (await t.get<number>('c'))!;
      await putAll(ctx, { c: c + 100 }); // someone else always gets there first
      t.put('c', c + 1);
      t.put('mine', true);
    }, { attempts: 3 }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConflictError, String(err));
    assert.equal((err as TsnetError).kind, ErrorKind.Conflict);
    assert.match((err as Error).message, /^store .+: transaction still conflicting after 3 attempts$/);
    assert.equal(await ctx.store.get('c'), 300);
    assert.equal(await ctx.store.get('mine'), undefined);
  });

  it('200 increments from 4 concurrent processes end at exactly 200', async () => {
    const script = path.join(__dirname, 'store-child.js');
    const argv = [JSON.stringify(ctx.store.spec), 'increment', JSON.stringify({ key: 'counter', times: 50 })];
    const done = await raceChildren<number>(script, [argv, argv, argv, argv]);
    assert.deepEqual(done, [50, 50, 50, 50]);
    assert.equal(await ctx.store.get('counter'), 200);
  });
}
