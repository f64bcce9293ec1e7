/** The lease part of the Store contract suite (see contract.ts). */
import { strict as assert } from 'node:assert';
import { ErrorKind, TsnetError } from '../../../src/errors';
import type { SuiteContext } from './contract';
import { collect, sleep, waitFor } from './util';

/** TTL of the test leases: etcd grants at least about 1.5 election timeouts, so 2 s on both backends. */
const TTL = 2;

/** Asserts p rejects with a TsnetError of kind NotFound. */
async function rejectsNotFound(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TsnetError && err.kind === ErrorKind.NotFound, `${what}: ${String(err)}`);
    return true;
  });
}

/** Registers the lease tests on the suite's store. */
export function describeLeaseContract(ctx: SuiteContext): void {
  it('keys of a lease that is not renewed vanish after its TTL, as delete events', async () => {
    const lease = await ctx.store.grantLease(TTL);
    assert.equal(lease.ttl, TTL);
    await ctx.store.txn(async (t) => { t.put('h/1', 'a', { lease }); t.put('h/2', 'b', { lease }); t.put('h/kept', 'c'); });
    const c = collect(ctx.store, 'h/', (await ctx.store.listAt('')).revision);
    try {
      const start = Date.now();
      await waitFor(async () => (await ctx.store.get('h/1')) === undefined, (TTL + 4) * 1000, () => 'h/1 outlived its lease');
      assert.ok(Date.now() - start >= (TTL - 1) * 1000, 'expired before its TTL');
      assert.equal(await ctx.store.get('h/2'), undefined);
      assert.equal(await ctx.store.get('h/kept'), 'c');
      await waitFor(() => c.events.length === 2, 3000, () => JSON.stringify(c.events));
      assert.deepEqual(c.events.map((e) => [e.key, e.value]).sort(), [['h/1', undefined], ['h/2', undefined]]);
      await rejectsNotFound(lease.keepAliveOnce(), 'keepAliveOnce after expiry');
    } finally {
      await c.watch.close();
    }
  });

  it('keys survive well past the TTL while the lease is renewed', async () => {
    const lease = await ctx.store.grantLease(TTL);
    await ctx.store.txn(async (t) => { t.put('r/1', 1, { lease }); });
    const until = Date.now() + TTL * 2000 + 500;
    while (Date.now() < until) {
      await lease.keepAliveOnce();
      await sleep(400);
    }
    assert.equal(await ctx.store.get('r/1'), 1);
    await lease.revoke();
  });

  it('revoke deletes the keys at once; the lease is then gone for keepAliveOnce, attachLease and put', async () => {
    const lease = await ctx.store.grantLease(60);
    await ctx.store.txn(async (t) => { t.put('v/1', 1, { lease }); });
    await lease.revoke();
    assert.equal(await ctx.store.get('v/1'), undefined);
    await lease.revoke(); // idempotent
    await rejectsNotFound(lease.keepAliveOnce(), 'keepAliveOnce after revoke');
    await rejectsNotFound(ctx.store.attachLease(lease.id), 'attachLease after revoke');
    await rejectsNotFound(ctx.store.txn(async (t) => { t.put('v/2', 2, { lease }); }), 'put with a revoked lease');
    assert.equal(await ctx.store.get('v/2'), undefined);
  });

  it('attachLease finds a live lease by id (a restarted owner) and can keep it alive and revoke it', async () => {
    const granted = await ctx.store.grantLease(60);
    await ctx.store.txn(async (t) => { t.put('o/1', 1, { lease: granted }); });
    const attached = await ctx.store.attachLease(granted.id);
    assert.equal(attached.id, granted.id);
    assert.equal(attached.ttl, 60);
    await attached.keepAliveOnce();
    await attached.revoke();
    assert.equal(await ctx.store.get('o/1'), undefined);
    await rejectsNotFound(ctx.store.attachLease('123456789'), 'attachLease of an unknown id');
  });

  it('a put without a lease detaches the key from its lease', async () => {
    const lease = await ctx.store.grantLease(60);
    await ctx.store.txn(async (t) => { t.put('d/1', 1, { lease }); });
    await ctx.store.txn(async (t) => { t.put('d/1', 2); });
    await lease.revoke();
    assert.equal(await ctx.store.get('d/1'), 2);
  });
}
