/**
 * The etcd backend against a real etcd server: the shared contract suite, then what only a cluster
 * store faces — the server dying, restarting, or hanging under a running loop.
 */
import { strict as assert } from 'node:assert';
import * as Etcd from 'etcd3';
import { ErrorKind, TsnetError } from '../../../src/errors';
import { openClusterStore, type EtcdStore } from '../../../src/store/etcd';
import type { Store } from '../../../src/store/store';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../../helpers/etcd';
import { describeStoreContract } from '../../unit/store/contract';
import { openSpec } from '../../unit/store/spec';
import { collect, pairs, waitFor } from '../../unit/store/util';

describe('etcd backend', function () {
  this.timeout(60000);
  let server: EtcdServer;
  let n = 0;
  before(async function () {
    skipWithoutEtcd(this);
    server = await startEtcd();
  });
  after(async () => server?.dispose());

  // Every test gets its own key prefix on the one server.
  describeStoreContract('etcd', async () => openSpec({ backend: 'etcd', url: server.url(`contract${++n}`) }));

  describe('when the server fails', () => {
    let store: Store;
    beforeEach(() => { store = openClusterStore(server.url(`fail${++n}`)); });
    afterEach(async () => {
      server.resume();
      await server.restart(); // healthy again for the next test, whatever this one did
      await store.close();
    });

    const increment = () => store.txn(async (t) => { t.put('n', ((await t.get<number>('n')) ?? 0) + 1); });

    it('a compare-and-swap loop completes across kill -9 and restart, losing and doubling nothing', async () => {
      let done = 0;
      const worker = async () => { for (let i = 0; i < 40; i++) { await increment(); done++; } };
      const workers = [worker(), worker(), worker()];
      await waitFor(() => done >= 15, 20000, () => `only ${done} increments`);
      await server.kill();
      // A transaction that starts while the server is gone completes once it is back.
      const during = increment();
      const down = Date.now();
      await server.restart();
      const outage = Date.now() - down;
      await Promise.all([...workers, during]);
      assert.equal(await store.get('n'), 121, `after an outage of ${outage} ms`);
    });

    for (const how of ['killed', 'frozen'] as const) {
      it(`${how}: get, txn and grantLease each fail within 5 s with one line naming the endpoint`, async () => {
        await store.get('warm'); // connected before the failure, as a running daemon is
        if (how === 'killed') await server.kill();
        else server.freeze();
        // Killed: refused, or, for a call made while gRPC is between reconnect attempts, its deadline
        // (it waits for a connection that never comes; seen in CI). Frozen: always the deadline.
        const reason = how === 'killed' ? /connect ECONNREFUSED|deadline exceeded/ : /deadline exceeded/;
        const ops: [string, () => Promise<unknown>][] = [['get', () => store.get('k')], ['txn', increment], ['grantLease', () => store.grantLease(5)]];
        for (const [name, op] of ops) {
          const start = Date.now();
          const err = await op().then(() => undefined, (e: unknown) => e);
          const took = Date.now() - start;
          assert.ok(err instanceof TsnetError, `${name}: ${String(err)}`);
          assert.equal(err.kind, ErrorKind.Unavailable, `${name}: ${err.message}`);
          assert.ok(took < 5000, `${name} took ${took} ms`);
          const prefix = `cluster store etcd://${server.endpoint}: unavailable (`;
          assert.ok(err.message.startsWith(prefix), `${name}: ${err.message}`);
          assert.match(err.message, reason);
          assert.doesNotMatch(err.message, /\n/);
        }
      });
    }

    it('a watch resumes after a restart from its last event: nothing missed, nothing twice', async () => {
      const { revision } = await store.listAt('');
      const c = collect(store, 'w/', revision);
      try {
        await store.txn(async (t) => t.put('w/1', 1));
        await waitFor(() => c.events.length === 1, 5000, () => JSON.stringify(c.events));
        await server.kill();
        await server.restart();
        for (let i = 2; i <= 4; i++) await store.txn(async (t) => t.put(`w/${i}`, i));
        await waitFor(() => c.events.length >= 4, 10000, () => JSON.stringify(c.events));
        assert.deepEqual(pairs(c.events), [['w/1', 1], ['w/2', 2], ['w/3', 3], ['w/4', 4]]);
        assert.deepEqual(c.errors, []);
      } finally {
        await c.watch.close();
      }
    });
  });

  describe('a commit whose answer is lost', () => {
    /** Makes the next commit (a Txn with writes) fail with UNAVAILABLE, after (applied) or instead of (not) reaching etcd. */
    function loseNextCommitAnswer(store: EtcdStore, applied: boolean): void {
      const kv = (store as unknown as { client: Etcd.Etcd3 }).client.kv;
      const txn = kv.txn.bind(kv);
      kv.txn = async (req, opts) => {
        if (!req.success?.length || !req.compare?.some((c) => c.target === 'Mod')) return txn(req, opts);
        kv.txn = txn; // once
        if (applied) await txn(req, opts);
        throw new Etcd.GRPCUnavailableError('14 UNAVAILABLE: Connection dropped');
      };
    }

    for (const applied of [true, false]) {
      it(`is settled through its marker: ${applied ? 'applied once, not run again' : 'not applied, run again'}`, async () => {
        const store = openClusterStore(server.url(`lost${++n}`));
        try {
          await store.txn(async (t) => t.put('n', 0));
          loseNextCommitAnswer(store, applied);
          let runs = 0;
          await store.txn(async (t) => { runs++; t.put('n', (await t.get<number>('n'))! + 1); });
          assert.equal(await store.get('n'), 1);
          assert.equal(runs, applied ? 1 : 2);
        } finally {
          await store.close();
        }
      });
    }
  });
});
