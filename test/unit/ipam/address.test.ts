import { strict as assert } from 'node:assert';
import { ErrorKind } from '../../../src/errors';
import { createIpam } from '../../../src/ipam/allocator';
import type { AddressRequest, PoolRequest } from '../../../src/ipam/ipam';
import type { IpamPool } from '../../../src/model';
import { poolReq, tempStore, throwsKind, type TempStore } from './helpers';

const ipam = createIpam();

describe('ipam requestAddress', () => {
  let ts: TempStore;
  beforeEach(() => { ts = tempStore(); });
  afterEach(() => ts.dispose());

  const pool = (over: Partial<PoolRequest>): IpamPool => ts.store.txn((t) => ipam.requestPool(t, poolReq(over), []));
  const addr = (p: IpamPool, req: Partial<AddressRequest> = {}) =>
    ts.store.txn((t) => ipam.requestAddress(t, p.poolId, { owner: 'ep1', ifname: 'eth0', ...req }));
  const take = (p: IpamPool, n: number) => Array.from({ length: n }, (_, i) => addr(p, { owner: `ep${i}` }));
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
    for (const c of cases) it(c.name, () => assert.deepEqual(take(pool(c.req), c.n), c.want));
  });

  describe('exhaustion', () => {
    const cases: { name: string; req: Partial<PoolRequest>; n: number; message: string }[] = [
      { name: '/30 holds one host', req: { subnet: '10.1.0.0/30' }, n: 1, message: 'no available IPv4 address in network "mynet" (10.1.0.0/30)' },
      { name: 'ip-range of 4', req: { subnet: '10.1.0.0/24', ipRange: '10.1.0.8/30' }, n: 4, message: 'no available IPv4 address in network "mynet" (10.1.0.0/24)' },
      { name: 'v6 /126', req: { subnet: 'fd00:1::/126' }, n: 2, message: 'no available IPv6 address in network "mynet" (fd00:1::/126)' },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.message}`, () => {
        const p = pool(c.req);
        assert.equal(take(p, c.n).length, c.n);
        throwsKind(() => addr(p, { owner: 'late' }), ErrorKind.Exhausted, c.message);
      });
    }
  });

  it('wraps around to freed addresses after the last one', () => {
    const p = pool({ subnet: '10.1.0.0/29' }); // hosts .2–.6 (.1 gateway)
    assert.deepEqual(take(p, 5), ['10.1.0.2/29', '10.1.0.3/29', '10.1.0.4/29', '10.1.0.5/29', '10.1.0.6/29']);
    release(p, '10.1.0.3/29');
    release(p, '10.1.0.5');
    assert.deepEqual([addr(p), addr(p)], ['10.1.0.3/29', '10.1.0.5/29']);
  });

  it('does not reuse a freed address before wrapping (host-local order)', () => {
    const p = pool({ subnet: '10.1.0.0/28' });
    take(p, 3); // .2 .3 .4
    release(p, '10.1.0.2');
    assert.equal(addr(p), '10.1.0.5/28');
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
      it(`${c.name}: ${c.message ?? c.want}`, () => {
        const p = pool({ subnet, ipRange: '172.25.1.0/24', auxAddresses: { h: '172.25.0.9' } });
        assert.equal(addr(p, { owner: 'first' }), '172.25.1.0/16');
        addr(p, { owner: 'second' }); // 172.25.1.1
        addr(p, { owner: 'third' }); // 172.25.1.2
        if (c.want) assert.equal(addr(p, { preferred: c.preferred }), c.want);
        else throwsKind(() => addr(p, { preferred: c.preferred }), c.kind!, c.message!);
      });
    }
    it('a static address does not move the dynamic cursor', () => {
      const p = pool({ subnet: '10.1.0.0/24' });
      assert.equal(addr(p, { preferred: '10.1.0.50' }), '10.1.0.50/24');
      assert.equal(addr(p), '10.1.0.2/24');
    });
    it('v6 spellings of one address collide', () => {
      const p = pool({ subnet: 'fd00:1::/64' });
      addr(p, { preferred: 'fd00:1::5' });
      throwsKind(() => addr(p, { preferred: 'FD00:1:0:0::05' }), ErrorKind.Conflict, 'address fd00:1::5 is already in use in network "mynet"');
    });
  });

  it('unknown pool is NotFound', () => {
    throwsKind(() => ts.store.txn((t) => ipam.requestAddress(t, 'nope', { owner: 'a', ifname: 'eth0' })), ErrorKind.NotFound, 'ipam pool nope: not found');
  });

  describe('release', () => {
    it('releaseAddress frees for a static request and is idempotent', () => {
      const p = pool({ subnet: '10.1.0.0/24' });
      const ip = addr(p);
      throwsKind(() => addr(p, { preferred: '10.1.0.2' }), ErrorKind.Conflict, 'address 10.1.0.2 is already in use in network "mynet"');
      release(p, ip);
      release(p, ip);
      assert.equal(addr(p, { preferred: '10.1.0.2' }), '10.1.0.2/24');
    });
    it('releaseAddress keeps the gateway and aux reserved', () => {
      const p = pool({ subnet: '10.1.0.0/24', auxAddresses: { h: '10.1.0.7' } });
      release(p, '10.1.0.1');
      release(p, '10.1.0.7');
      throwsKind(() => addr(p, { preferred: '10.1.0.1' }), ErrorKind.Conflict, 'address 10.1.0.1 is already in use in network "mynet"');
      throwsKind(() => addr(p, { preferred: '10.1.0.7' }), ErrorKind.Conflict, 'address 10.1.0.7 is already in use in network "mynet"');
    });
    it('releaseOwner frees every address of the owner, or one ifname', () => {
      const a = pool({ subnet: '10.1.0.0/24' });
      const b = pool({ owner: 'net2', ownerName: 'other', subnet: 'fd00:2::/64' });
      addr(a, { owner: 'c1', ifname: 'eth0' });
      addr(b, { owner: 'c1', ifname: 'eth0' });
      addr(a, { owner: 'c1', ifname: 'eth1' });
      addr(a, { owner: 'c2', ifname: 'eth0' });
      const releaseOwner = (owner: string, ifname?: string) => ts.store.txn((t) => ipam.releaseOwner(t, owner, ifname));
      assert.equal(releaseOwner('c1', 'eth1'), 1);
      assert.equal(releaseOwner('c1'), 2);
      assert.equal(releaseOwner('c1'), 0); // CNI DEL twice
      assert.equal(releaseOwner('c'), 0); // a prefix of an owner is not that owner
      // c1 held .2 (eth0) and .3 (eth1); c2 still holds .4.
      assert.deepEqual([addr(a, { preferred: '10.1.0.2' }), addr(a, { preferred: '10.1.0.3' })], ['10.1.0.2/24', '10.1.0.3/24']);
      throwsKind(() => addr(a, { preferred: '10.1.0.4' }), ErrorKind.Conflict, 'address 10.1.0.4 is already in use in network "mynet"');
      assert.equal(releaseOwner('c2'), 1);
    });
    it('releasePool frees the pool, its addresses and its index; unknown id is a no-op', () => {
      const keep = pool({ owner: 'keep', ownerName: 'keep', subnet: '10.2.0.0/24' });
      addr(keep, { owner: 'c9' });
      const before = ts.store.list('ipam/').map((e) => e.key);
      const p = pool({ subnet: '10.1.0.0/24', auxAddresses: { h: '10.1.0.7' } });
      take(p, 10);
      ts.store.txn((t) => ipam.releasePool(t, p.poolId));
      ts.store.txn((t) => ipam.releasePool(t, p.poolId));
      ts.store.txn((t) => ipam.releasePool(t, 'unknown'));
      assert.deepEqual(ts.store.list('ipam/').map((e) => e.key), before);
      assert.equal(ts.store.txn((t) => ipam.releaseOwner(t, 'ep0')), 0);
      const again = pool({ subnet: '10.1.0.0/24' });
      assert.equal(addr(again), '10.1.0.2/24');
    });
  });

  it('probes, never scans: one request on a busy pool costs a few key reads and no list', () => {
    const p = pool({ subnet: '10.5.0.0/16' });
    take(p, 500);
    const calls: string[] = [];
    const got = ts.store.txn((t) => {
      // Count what the allocator asks of the store, to prove the cost does not grow with the pool.
      const counted = new Proxy(t, { get: (target, prop: keyof typeof t) => (...args: unknown[]) => {
        calls.push(String(prop));
        return (target[prop] as (...a: unknown[]) => unknown)(...args);
      } });
      return ipam.requestAddress(counted, p.poolId, { owner: 'x', ifname: 'eth0' });
    });
    assert.equal(got, '10.5.1.246/16');
    assert.ok(!calls.includes('list'), calls.join(','));
    assert.ok(calls.length <= 8, calls.join(','));
  });
});
