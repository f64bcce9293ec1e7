import { strict as assert } from 'node:assert';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorKind, TsnetError } from '../../../src/errors';
import { openSqliteStore } from '../../../src/store/sqlite';
import { migrate, prepare } from '../../../src/store/sqlite-schema';
import { CompactedError } from '../../../src/store/store';
import { describeStoreContract } from './contract';
import { openSpec } from './spec';
import { collect, waitFor } from './util';

const dirs: string[] = [];
/** A fresh state dir, removed after the file's tests. */
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-store-'));
  dirs.push(dir);
  return dir;
}

describe('sqlite backend', () => {
  after(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  describeStoreContract('sqlite', async () => openSpec({ backend: 'sqlite', stateDir: tempDir() }));
  describeSqliteOnly();
});

/** The first release's schema and writes, verbatim (git show 15c4673~1:src/store/sqlite.ts). */
function writeFirstReleaseStore(dir: string): void {
  const db = new Database(path.join(dir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstone (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstone_rev ON tombstone (rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('rev', 0);
`);
  const bump = db.prepare("UPDATE meta SET value = value + 1 WHERE name = 'rev' RETURNING value");
  const put = db.prepare('INSERT INTO kv (key, value, rev) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, rev = excluded.rev');
  db.transaction(() => {
    const rev = (bump.get() as { value: number }).value;
    put.run('network/n1', JSON.stringify({ name: 'mynet' }), rev);
    put.run('ipam/addr/p1/10.0.0.2', JSON.stringify({ owner: 'ep1' }), rev);
  }).immediate();
  db.transaction(() => {
    const rev = (bump.get() as { value: number }).value;
    db.prepare('DELETE FROM kv WHERE key = ?').run('ipam/addr/p1/10.0.0.2');
    db.prepare('INSERT INTO tombstone (key, rev) VALUES (?, ?)').run('ipam/addr/p1/10.0.0.2', rev);
  }).immediate();
  db.close();
}

/** The SQLite-only tests: the first release's file, reopening, sweeping by another process. */
function describeSqliteOnly(): void {
  describe('sqlite store', function () {
    this.timeout(15000);

    it('opens a store written by the first release: data, revisions and writes carry on', async () => {
      const dir = tempDir();
      writeFirstReleaseStore(dir);
      const store = openSqliteStore(dir);
      try {
        assert.deepEqual(await store.list('network/'), [{ key: 'network/n1', value: { name: 'mynet' }, modRevision: 1 }]);
        assert.equal(await store.get('ipam/addr/p1/10.0.0.2'), undefined);
        const { revision } = await store.listAt('');
        assert.equal(revision, 2);
        assert.equal(await store.txn((t) => t.create('network/n2', { name: 'other' })), true);
        assert.equal((await store.list('network/'))[1].modRevision, 3);
        // The first release kept no history: a watch from before the upgrade must re-list.
        const c = collect(store, '', 0);
        await waitFor(() => c.errors.length > 0, 3000, () => 'no CompactedError');
        assert.ok(c.errors[0] instanceof CompactedError);
        await c.watch.close();
      } finally {
        await store.close();
      }
      // Opening again migrates nothing twice.
      const again = openSqliteStore(dir);
      assert.equal(await again.get('network/n2') !== undefined, true);
      await again.close();
    });

    it('prepares each statement on its first use, and every one of them against the schema', () => {
      const db = new Database(path.join(tempDir(), 'state.db'));
      try {
        migrate(db);
        const statements = prepare(db);
        const names = Object.keys(statements) as (keyof typeof statements)[];
        assert.equal(names.length, 18);
        // Nothing prepared yet: each property is still its getter.
        for (const name of names) assert.equal(typeof Object.getOwnPropertyDescriptor(statements, name)?.get, 'function', name);
        for (const name of names) {
          const statement = statements[name];
          assert.equal(statement.database, db, name);
          // Kept: the second use is the same statement.
          assert.equal(statements[name], statement, name);
        }
      } finally {
        db.close();
      }
    });

    it('refuses a store written by a newer release, naming the file', () => {
      const dir = tempDir();
      const db = new Database(path.join(dir, 'state.db'));
      db.pragma('user_version = 99');
      db.close();
      assert.throws(() => openSqliteStore(dir), (err: unknown) => {
        assert.ok(err instanceof TsnetError && err.kind === ErrorKind.Internal);
        assert.match(err.message, /^open store .*state\.db: schema version 99 is newer than this release's 1$/);
        return true;
      });
    });

    it('keeps its state across a reopen', async () => {
      const dir = tempDir();
      const store = openSqliteStore(dir);
      await store.txn(async (t) => t.put('net/1', { name: 'mynet' }));
      await store.close();
      const reopened = openSqliteStore(dir);
      assert.deepEqual(await reopened.get('net/1'), { name: 'mynet' });
      await reopened.close();
    });

    it('a lease whose owner went away is swept by any other process holding the store open', async () => {
      const dir = tempDir();
      const owner = openSqliteStore(dir);
      const other = openSqliteStore(dir);
      try {
        const lease = await owner.grantLease(1);
        await owner.txn(async (t) => t.put('host/a', 'vtep', { lease }));
        await owner.close(); // its sweeper stops with it
        const c = collect(other, 'host/', 0);
        await waitFor(async () => (await other.get('host/a')) === undefined, 4000, () => 'host/a not swept');
        await waitFor(() => c.events.length === 2, 2000, () => JSON.stringify(c.events));
        assert.deepEqual(c.events.map((e) => e.value), ['vtep', undefined]);
        await c.watch.close();
      } finally {
        await other.close();
      }
    });

    it('refuses a value that is not JSON and a TTL below one second', async () => {
      const store = openSqliteStore(tempDir());
      try {
        await assert.rejects(store.txn(async (t) => t.put('k', undefined)), /store put k: value is not JSON/);
        await assert.rejects(store.grantLease(0), /lease ttl 0: must be a whole number of seconds, at least 1/);
      } finally {
        await store.close();
      }
    });
  });
}
