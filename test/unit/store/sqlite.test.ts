import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqliteStore } from '../../../src/store/sqlite';
import type { Store, StoreEvent } from '../../../src/store/store';

describe('sqlite store', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-store-'));
    store = openSqliteStore(dir);
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists by prefix in key order, and only that prefix', () => {
    store.txn((t) => { t.put('a/2', 2); t.put('a/1', 1); t.put('ab', 3); t.put('b/1', 4); });
    assert.deepEqual(store.list('a/'), [{ key: 'a/1', value: 1 }, { key: 'a/2', value: 2 }]);
  });
  it('rolls back every write of a transaction that throws', () => {
    assert.throws(() => store.txn((t) => { t.put('x', 1); throw new Error('boom'); }), /boom/);
    assert.equal(store.get('x'), undefined);
  });
  it('create refuses a taken key', () => {
    assert.equal(store.txn((t) => t.create('k', 1)), true);
    assert.equal(store.txn((t) => t.create('k', 2)), false);
    assert.equal(store.get('k'), 1);
  });
  it('survives reopening (state survives a restart)', () => {
    store.txn((t) => t.put('net/1', { name: 'mynet' }));
    store.close();
    store = openSqliteStore(dir);
    assert.deepEqual(store.get('net/1'), { name: 'mynet' });
  });
  it('watch sees puts and deletes made by another connection', async () => {
    const events: StoreEvent[] = [];
    const stop = store.watch('ep/', (e) => events.push(...e));
    const other = openSqliteStore(dir);
    try {
      other.txn((t) => { t.put('ep/1', { ip: '10.0.0.2' }); t.put('other', 1); });
      other.txn((t) => t.delete('ep/1'));
      const deadline = Date.now() + 2000;
      while (events.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Both commits may land in one poll: then only the final state (deleted) is reported.
      assert.ok(events.length >= 1);
      assert.deepEqual(events[events.length - 1], { key: 'ep/1', value: undefined });
      assert.ok(events.every((e) => e.key === 'ep/1'));
    } finally {
      stop();
      other.close();
    }
  });
});
