/**
 * The cross-process IPAM race, for any store backend: 4 processes × 50 allocations from one pool,
 * all released at once. Run on SQLite here (concurrency.test.ts) and on a real etcd
 * (test/integration/store/ipam-etcd.test.ts).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { createIpam, ipamKeys, type AddrRecord } from '../../../src/ipam/allocator';
import { raceChildren } from '../store/fork';
import type { StoreUnderTest } from '../store/spec';
import { poolReq } from './helpers';

const CHILDREN = 4;
const PER_CHILD = 50;

/** Registers the race on the stores open() gives (a fresh, empty one per test). */
export function describeIpamConcurrency(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`ipam across processes (${name})`, function () {
    this.timeout(120000);
    let store: StoreUnderTest;
    beforeEach(async () => { store = await open(); });
    afterEach(async () => store.close());

    it(`${CHILDREN} processes allocating ${PER_CHILD} each from one pool get distinct addresses`, async () => {
      const ipam = createIpam();
      const pool = await store.txn((t) => ipam.requestPool(t, poolReq({ subnet: '10.7.0.0/16' }), []));
      const argvs = Array.from({ length: CHILDREN }, (_, n) => [JSON.stringify(store.spec), pool.poolId, `c${n}`, String(PER_CHILD)]);
      const results = await raceChildren<string[]>(path.join(__dirname, 'alloc-child.js'), argvs);
      const all = results.flat();
      assert.equal(all.length, CHILDREN * PER_CHILD);
      assert.equal(new Set(all).size, CHILDREN * PER_CHILD, 'an address was handed out twice');
      const stored = (await store.list<AddrRecord>(ipamKeys.addrs(pool.poolId))).filter((e) => e.value.kind === 'endpoint');
      assert.equal(stored.length, CHILDREN * PER_CHILD, 'reservations in the store');
      assert.deepEqual(new Set(stored.map((e) => `${e.key.slice(ipamKeys.addrs(pool.poolId).length)}/16`)), new Set(all));
      // The pool stays dense: no address lost between processes, none beyond the first 200 hosts.
      assert.ok(all.every((ip) => /^10\.7\.0\.\d+\/16$/.test(ip)), all.find((ip) => !/^10\.7\.0\./.test(ip)));
    });
  });
}
