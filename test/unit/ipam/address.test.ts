import { strict as assert } from 'node:assert';
import { ErrorKind } from '../../../src/errors';
import { createIpam } from '../../../src/ipam/allocator';
import type { AddressRequest, PoolRequest } from '../../../src/ipam/ipam';
import type { IpamPool } from '../../../src/model';
import { poolReq, rejectsKind, tempStore, type TempStore } from './helpers';

const ipam = createIpam();

describe('ipam requestAddress', () => {
  let ts: TempStore;
  beforeEach(() => { ts = tempStore(); });
  afterEach(() => ts.dispose());

  const pool = (over: Partial<PoolRequest>): Promise<IpamPool> => ts.store.txn((t) => ipam.requestPool(t, poolReq(over), []));
  const addr = (p: IpamPool, req: Partial<AddressRequest> = {}) =>
    ts.store.txn((t) => ipam.requestAddress(t, p.poolId, { owner: 'ep1', ifname: 'eth0', ...req }));
  /** n addresses for owners ep0…, one transaction each, in order. */
  const take = async (p: IpamPool, n: number) => {
    const got: string[] = [];
    for (let i = 0; i < n; i++) got.push(await addr(p, { owner: `ep${i}` }));
    return got;
  };
  const release = (p: IpamPool, ip: string) => ts.store.txn((t) => ipam.releaseAddress(t, p.poolId, ip));

  describe('dynamic allocation', () => {
    const cases: { name: string; req: Partial<PoolRequest>; n: number; want: string[] }[] = [
      { name: 'sequential after the gateway', req: { subnet: '172.25.0.0/16' }, n: 3, want: ['172.25.0.2/16', '172.25.0.3/16', '172.25.0.4/16'] },
      { name: 'a user gateway is skipped', req: { subnet: '10.1.0.0/29', gateway: '10.1.0.3' }, n: 5, want: ['10.1.0.1/29', '10.1.0.2/29', '10.1.0.4/29', '10.1.0.5/29', '10.1.0.6/29'] },
      { name: 'aux addresses are skipped', req: { subnet: '10.1.0.0/28', auxAddresses: { a: '10.1.0.2', b: '10.1.0.4' } }, n: 3, want: ['10.1.0.3/28', '10.1.0.5/28', '10.1.0.6/28'] },
      { name: 'no gateway: .1 is a host', req: { subnet: '10.1.0.0/30', noGateway: true }, n: 2, want: ['10.1.0.1/30', '10.1.0.2/30'] },
      { name: 'ip-range only', req: { subnet: '172.25.0.0/16', ipRange: '172.25.7.0/30' }, n: 4, want: ['172.25.7.0/16', '172.25.7.1/16', '172.25.7.2/16', '172.25.7.3/16'] },
      { name: 'ip-range at the subnet start skips the network address and gateway', req: { subnet: '10.1.0.0/24', ipRange: '10.1.0.0/30' }, n: 2, want: ['10.1.0.2/24', '10.1.0.3/24'] },
      { name: 'v6, the last address included', req: { subnet: 'fd00:1::/126' }, n: 2, want: ['fd00:1::2/126', 'fd00:1::3/126'] },
      { name: 'default default pool', req: {}, n: 2, want: ['172.17.0.2/16', '172.17.0.3/16'] },
    ];
    for (const c of cases) it(c.name, async () => assert.deepEqual(await take(await pool(c.req), c.n), c.want));
  });

  describe('exhaustion', () => {
    const cases: { name: string; req: Partial<PoolRequest>; n: number; message: string }[] = [
      { name: '/30 holds one host', req: { subnet: '10.1.0.0/30' }, n: 1, message: 'no available IPv4 address in network "mynet" (10.1.0.0/30)' },
      { name: 'ip-range of 4', req: { subnet: '10.1.0.0/24', ipRange: '10.1.0.8/30' }, n: 4, message: 'no available IPv4 address in network "mynet" (10.1.0.0/24)' },
      { name: 'v6 /126', req: { subnet: 'fd00:1::/126' }, n: 2, message: 'no available IPv6 address in network "mynet" (fd00:1::/126)' },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.message}`, async () => {
        const p = await pool(c.req);
        assert.equal((await take(p, c.n)).length, c.n);
        await rejectsKind(addr(p, { owner: 'late' }), ErrorKind.Exhausted, c.message);
      });
    }
  });

  it('wraps around to freed addresses after the last one', async () => {
    const p = await pool({ subnet: '10.1.0.0/29' }); // hosts .2–.6 (.1 gateway)
    assert.deepEqual(await take(p, 5), ['10.1.0.2/29', '10.1.0.3/29', '10.1.0.4/29', '10.1.0.5/29', '10.1.0.6/29']);
    await release(p, '10.1.0.3/29');
    await release(p, '10.1.0.5');
    assert.deepEqual([await addr(p), await addr(p)], ['10.1.0.3/29', '10.1.0.5/29']);
  });

  it('does not reuse a freed address before wrapping (host-local order)', async () => {
    const p = await pool({ subnet: '10.1.0.0/28' });
    await take(p, 3); // .2 .3 .4
    await release(p, '10.1.0.2');
    assert.equal(await addr(p), '10.1.0.5/28');
  });

  describe('static addresses', () => {
    const subnet = '172.25.0.0/16';
    const cases: { name: string; preferred: string; kind?: ErrorKind; message?: string; want?: string }[] = [
      { name: 'free address', preferred: '172.25.0.5', want: '172.25.0.5/16' },
      { name: 'outside ip-range but inside subnet', preferred: '172.25.200.1', want: '172.25.200.1/16' },
      { name: 'outside subnet', preferred: '10.0.0.5', kind: ErrorKind.InvalidArgument, message: 'address 10.0.0.5 is not in network "mynet" (172.25.0.0/16)' },
      { name: 'other family', preferred: 'fd00::5', kind: ErrorKind.InvalidArgument, message: 'address fd00::5 is not in network "mynet" (172.25.0.0/16)' },
      { name: 'malformed', preferred: '172.25.0.5/16', kind: ErrorKind.InvalidArgument, message: 'invalid address "172.25.0.5/16"' },
      { name: 'network address', preferred: '172.25.0.0', kind: ErrorKind.InvalidArgument, message: 'address 172.25.0.0 is the network address of network "mynet" (172.25.0.0/16)' },
      { name: 'broadcast address', preferred: '172.25.255.255', kind: ErrorKind.InvalidArgument, message: 'address 172.25.255.255 is the broadcast address of network "mynet" (172.25.0.0/16)' },
      { name: 'gateway', preferred: '172.25.0.1', kind: ErrorKind.Conflict, message: 'address 172.25.0.1 is already in use in network "mynet"' },
      { name: 'aux', preferred: '172.25.0.9', kind: ErrorKind.Conflict, message: 'address 172.25.0.9 is already in use in network "mynet"' },
      { name: 'taken by an endpoint', preferred: '172.25.1.2', kind: ErrorKind.Conflict, message: 'address 172.25.1.2 is already in use in network "mynet"' },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.message ?? c.want}`, async () => {
        const p = await pool({ subnet, ipRange: '172.25.1.0/24', auxAddresses: { h: '172.25.0.9' } });
        assert.equal(await addr(p, { owner: 'first' }), '172.25.1.0/16');
        await addr(p, { owner: 'second' }); // 172.25.1.1
        await addr(p, { owner: 'third' }); // 172.25.1.2
        if (c.want) assert.equal(await addr(p, { preferred: c.preferred }), c.want);
        else await rejectsKind(addr(p, { preferred: c.preferred }), c.kind!, c.message!);
      });
    }
    it('a static address does not move the dynamic cursor', async () => {
      const p = await pool({ subnet: '10.1.0.0/24' });
      assert.equal(await addr(p, { preferred: '10.1.0.50' }), '10.1.0.50/24');
      assert.equal(await addr(p), '10.1.0.2/24');
    });
    it('v6 spellings of one address collide', async () => {
      const p = await pool({ subnet: 'fd00:1::/64' });
      await addr(p, { preferred: 'fd00:1::5' });
      await rejectsKind(addr(p, { preferred: 'FD00:1:0:0::05' }), ErrorKind.Conflict, 'address fd00:1::5 is already in use in network "mynet"');
    });
  });

  it('unknown pool is NotFound', async () => {
    await rejectsKind(ts.store.txn((t) => ipam.requestAddress(t, 'nope', { owner: 'a', ifname: 'eth0' })), ErrorKind.NotFound, 'ipam pool nope: not found');
  });

  describe('release', () => {
    it('releaseAddress frees for a static request and is idempotent', async () => {
      const p = await pool({ subnet: '10.1.0.0/24' });
      const ip = await addr(p);
      await rejectsKind(addr(p, { preferred: '10.1.0.2' }), ErrorKind.Conflict, 'address 10.1.0.2 is already in use in network "mynet"');
      await release(p, ip);
      await release(p, ip);
      assert.equal(await addr(p, { preferred: '10.1.0.2' }), '10.1.0.2/24');
    });
    it('releaseAddress keeps the gateway and aux reserved', async () => {
      const p = await pool({ subnet: '10.1.0.0/24', auxAddresses: { h: '10.1.0.7' } });
      await release(p, '10.1.0.1');
      await release(p, '10.1.0.7');
      await rejectsKind(addr(p, { preferred: '10.1.0.1' }), ErrorKind.Conflict, 'address 10.1.0.1 is already in use in network "mynet"');
      await rejectsKind(addr(p, { preferred: '10.1.0.7' }), ErrorKind.Conflict, 'address 10.1.0.7 is already in use in network "mynet"');
    });
    it('releaseOwner frees every address of the owner, or one ifname', async () => {
      const a = await pool({ subnet: '10.1.0.0/24' });
      const b = await pool({ owner: 'net2', ownerName: 'other', subnet: 'fd00:2::/64' });
      await addr(a, { owner: 'c1', ifname: 'eth0' });
      await addr(b, { owner: 'c1', ifname: 'eth0' });
      await addr(a, { owner: 'c1', ifname: 'eth1' });
      await addr(a, { owner: 'c2', ifname: 'eth0' });
      const releaseOwner = (owner: string, ifname?: string) => ts.store.txn((t) => ipam.releaseOwner(t, owner, ifname));
      assert.equal(await releaseOwner('c1', 'eth1'), 1);
      assert.equal(await releaseOwner('c1'), 2);
      assert.equal(await releaseOwner('c1'), 0); // CNI DEL twice
      assert.equal(await releaseOwner('c'), 0); // a prefix of an owner is not that owner
      // c1 held .2 (eth0) and .3 (eth1); c2 still holds .4.
      assert.deepEqual([await addr(a, { preferred: '10.1.0.2' }), await addr(a, { preferred: '10.1.0.3' })], ['10.1.0.2/24', '10.1.0.3/24']);
      await rejectsKind(addr(a, { preferred: '10.1.0.4' }), ErrorKind.Conflict, 'address 10.1.0.4 is already in use in network "mynet"');
      assert.equal(await releaseOwner('c2'), 1);
    });
    it('releasePool frees the pool, its addresses and its index; unknown id is a no-op', async () => {
      const keep = await pool({ owner: 'keep', ownerName: 'keep', subnet: '10.2.0.0/24' });
      await addr(keep, { owner: 'c9' });
      const before = (await ts.store.list('ipam/')).map((e) => e.key);
      const p = await pool({ subnet: '10.1.0.0/24', auxAddresses: { h: '10.1.0.7' } });
      await take(p, 10);
      await ts.store.txn((t) => ipam.releasePool(t, p.poolId));
      await ts.store.txn((t) => ipam.releasePool(t, p.poolId));
      await ts.store.txn((t) => ipam.releasePool(t, 'unknown'));
      assert.deepEqual((await ts.store.list('ipam/')).map((e) => e.key), before);
      assert.equal(await ts.store.txn((t) => ipam.releaseOwner(t, 'ep0')), 0);
      const again = await pool({ subnet: '10.1.0.0/24' });
      assert.equal(await addr(again), '10.1.0.2/24');
    });
  });

  it('probes, never scans: one request on a busy pool costs a few key reads and no list', async () => {
    const p = await pool({ subnet: '10.5.0.0/16' });
    await take(p, 500);
    const calls: string[] = [];
    const got = await ts.store.txn((t) => {
      // Count what the allocator asks of the store, to prove the cost does not grow with the pool.
      const counted = new Proxy(t, { get: (target, prop: keyof typeof t) => (...args: unknown[]) => {
        calls.push(String(prop));
        return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
      } });
      return ipam.requestAddress(counted, p.poolId, { owner: 'x', ifname: 'eth0' });
    });
    assert.equal(got, '10.5.1.246/16');
    assert.ok(!calls.includes('list'), calls.join(','));
    assert.ok(calls.length <= 8, calls.join(','));
  });
});
