import { strict as assert } from 'node:assert';
import { ErrorKind } from '../../../src/errors';
import { createIpam } from '../../../src/ipam/allocator';
import type { PoolRequest } from '../../../src/ipam/ipam';
import { DEFAULT_LOCAL_POOLS, noDefaultPoolMessage, ulaCandidate } from '../../../src/ipam/pools';
import { poolReq, rejectsKind, tempStore, type TempStore } from './helpers';

const ipam = createIpam();

describe('ipam requestPool', () => {
  let ts: TempStore;
  beforeEach(() => { ts = tempStore(); });
  afterEach(() => ts.dispose());

  /** Requests a pool for a network numbered n (owner and name differ per n). */
  const request = (n: number, over: Partial<PoolRequest> = {}, routes: string[] = []) =>
    ts.store.txn((t) => ipam.requestPool(t, poolReq({ owner: `net${n}`, ownerName: `net${n}`, ...over }), routes));

  describe('default pool order', () => {
    const cases: { name: string; routes?: string[]; defaultPool?: string; existing?: string[]; want: string[] }[] = [
      { name: 'in Docker order', want: ['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16'] },
      { name: 'skipping taken pools', existing: ['172.18.0.0/16', '172.20.5.0/24'], want: ['172.17.0.0/16', '172.19.0.0/16', '172.21.0.0/16'] },
      { name: 'skipping pools overlapping host routes', routes: ['172.17.0.0/16', '172.18.3.7/32', '10.0.2.0/24'], want: ['172.19.0.0/16', '172.20.0.0/16'] },
      { name: 'ignoring default routes', routes: ['0.0.0.0/0', '::/0'], want: ['172.17.0.0/16'] },
      { name: 'trying defaultPool first', defaultPool: '10.200.0.0/16', want: ['10.200.0.0/16', '172.17.0.0/16'] },
      { name: 'skipping a taken defaultPool', defaultPool: '172.30.0.0/16', existing: ['172.30.0.0/16'], want: ['172.17.0.0/16', '172.18.0.0/16'] },
      { name: 'moving to 192.168/20s after 172.31', routes: ['172.16.0.0/12'], want: ['192.168.0.0/20', '192.168.16.0/20'] },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        for (const [i, subnet] of (c.existing ?? []).entries()) await request(100 + i, { subnet });
        // defaultPool applies to the first request only, as for the default bridge.
        const got: string[] = [];
        for (let i = 0; i < c.want.length; i++) got.push((await request(i, i === 0 && c.defaultPool ? { defaultPool: c.defaultPool } : {}, c.routes)).subnet);
        assert.deepEqual(got, c.want);
      });
    }
  });

  describe('exhaustion', () => {
    /** A pool from every default, in order. */
    const takeAll = async () => {
      const pools = [];
      for (let i = 0; i < DEFAULT_LOCAL_POOLS.length; i++) pools.push(await request(i));
      return pools;
    };
    it('after every default is taken', async () => {
      await takeAll();
      await rejectsKind(request(99), ErrorKind.Exhausted, noDefaultPoolMessage(4));
    });
    it('when host routes cover every default', async () => {
      await rejectsKind(request(1, {}, ['172.16.0.0/12', '192.168.0.0/16']), ErrorKind.Exhausted, noDefaultPoolMessage(4));
    });
    it('frees a default for reuse after releasePool', async () => {
      const pools = await takeAll();
      await ts.store.txn((t) => ipam.releasePool(t, pools[5].poolId));
      assert.equal((await request(99)).subnet, DEFAULT_LOCAL_POOLS[5]);
    });
    it('v6 when routes cover fd00::/8', async () => {
      await rejectsKind(request(1, { v6: true }, ['fd00::/8']), ErrorKind.Exhausted, noDefaultPoolMessage(6));
    });
  });

  describe('v6 default', () => {
    it('is a ULA /64 derived from the owner, gateway ::1', async () => {
      const pool = await request(1, { v6: true });
      assert.equal(pool.subnet, ulaCandidate('net1', 0));
      assert.equal(pool.gateway, pool.subnet.replace('::/64', '::1'));
    });
    it('skips a taken candidate', async () => {
      await request(2, { subnet: ulaCandidate('net1', 0) });
      assert.equal((await request(1, { v6: true })).subnet, ulaCandidate('net1', 1));
    });
    it('v4 and v6 pools of one network coexist', async () => {
      assert.equal((await request(1)).subnet, '172.17.0.0/16');
      assert.match((await request(1, { v6: true })).subnet, /^fd/);
    });
  });

  describe('pool fields', () => {
    const cases: { name: string; req: Partial<PoolRequest>; want: Record<string, unknown> }[] = [
      { name: 'default gateway is .1', req: { subnet: '172.25.0.0/16' }, want: { subnet: '172.25.0.0/16', gateway: '172.25.0.1' } },
      { name: 'user gateway', req: { subnet: '172.25.0.0/16', gateway: '172.25.9.9' }, want: { subnet: '172.25.0.0/16', gateway: '172.25.9.9' } },
      { name: 'no gateway', req: { subnet: '172.25.0.0/16', noGateway: true }, want: { subnet: '172.25.0.0/16' } },
      {
        name: 'ip-range and aux', req: { subnet: '172.25.0.0/16', ipRange: '172.25.1.0/24', auxAddresses: { router: '172.25.0.2' } },
        want: { subnet: '172.25.0.0/16', gateway: '172.25.0.1', ipRange: '172.25.1.0/24', auxAddresses: { router: '172.25.0.2' } },
      },
      { name: 'v6 user subnet, canonical text', req: { subnet: 'FD00:AB::/64', gateway: 'fd00:ab:0::fe' }, want: { subnet: 'fd00:ab::/64', gateway: 'fd00:ab::fe' } },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { poolId, ...rest } = await request(1, c.req);
        assert.deepEqual(rest, c.want);
        assert.ok(poolId && !poolId.includes('/'), poolId);
      });
    }
    it('pools() lists each pool with its network', async () => {
      const a = await request(1, { subnet: '172.25.0.0/16' });
      const b = await request(2, { v6: true });
      const got = await ts.store.txn((t) => ipam.pools(t));
      assert.deepEqual(new Set(got.map((p) => `${p.ownerName}=${p.pool.subnet}`)), new Set([`net1=${a.subnet}`, `net2=${b.subnet}`]));
      assert.deepEqual(got.find((p) => p.owner === 'net1')?.pool, a);
    });
  });

  describe('bad input', () => {
    const cases: { name: string; req: Partial<PoolRequest>; routes?: string[]; kind: ErrorKind; message: string }[] = [
      { name: 'malformed subnet', req: { subnet: '300.1.1.1/8' }, kind: ErrorKind.InvalidArgument, message: 'invalid subnet "300.1.1.1/8"' },
      { name: 'host bits set', req: { subnet: '172.25.0.1/16' }, kind: ErrorKind.InvalidArgument, message: 'invalid subnet 172.25.0.1/16: host bits set' },
      { name: 'v4 /31', req: { subnet: '10.0.0.0/31' }, kind: ErrorKind.InvalidArgument, message: 'invalid subnet 10.0.0.0/31: too small for a gateway and one host (longest is /30)' },
      { name: 'v6 /127', req: { subnet: 'fd00::/127' }, kind: ErrorKind.InvalidArgument, message: 'invalid subnet fd00::/127: too small for a gateway and one host (longest is /126)' },
      { name: 'gateway outside', req: { subnet: '172.25.0.0/16', gateway: '10.9.0.1' }, kind: ErrorKind.InvalidArgument, message: 'gateway 10.9.0.1 is not in subnet 172.25.0.0/16' },
      { name: 'gateway of other family', req: { subnet: '172.25.0.0/16', gateway: 'fd00::1' }, kind: ErrorKind.InvalidArgument, message: 'gateway fd00::1 is not in subnet 172.25.0.0/16' },
      { name: 'gateway malformed', req: { subnet: '172.25.0.0/16', gateway: '172.25.0.300' }, kind: ErrorKind.InvalidArgument, message: 'invalid gateway "172.25.0.300"' },
      { name: 'gateway network address', req: { subnet: '172.25.0.0/16', gateway: '172.25.0.0' }, kind: ErrorKind.InvalidArgument, message: 'gateway 172.25.0.0 is the network address of subnet 172.25.0.0/16' },
      { name: 'gateway broadcast', req: { subnet: '172.25.0.0/16', gateway: '172.25.255.255' }, kind: ErrorKind.InvalidArgument, message: 'gateway 172.25.255.255 is the broadcast address of subnet 172.25.0.0/16' },
      { name: 'gateway with noGateway', req: { subnet: '172.25.0.0/16', gateway: '172.25.0.1', noGateway: true }, kind: ErrorKind.InvalidArgument, message: "gateway 172.25.0.1: the network's driver uses no gateway" },
      { name: 'gateway without subnet', req: { gateway: '172.17.0.1' }, kind: ErrorKind.InvalidArgument, message: 'gateway 172.17.0.1 requires a subnet' },
      { name: 'ip-range outside', req: { subnet: '172.25.0.0/16', ipRange: '10.0.0.0/24' }, kind: ErrorKind.InvalidArgument, message: 'ip-range 10.0.0.0/24 is not in subnet 172.25.0.0/16' },
      { name: 'ip-range larger', req: { subnet: '172.25.0.0/16', ipRange: '172.0.0.0/8' }, kind: ErrorKind.InvalidArgument, message: 'ip-range 172.0.0.0/8 is not in subnet 172.25.0.0/16' },
      { name: 'ip-range malformed', req: { subnet: '172.25.0.0/16', ipRange: '172.25.1.0/99' }, kind: ErrorKind.InvalidArgument, message: 'invalid ip-range "172.25.1.0/99"' },
      { name: 'ip-range host bits', req: { subnet: '172.25.0.0/16', ipRange: '172.25.1.1/24' }, kind: ErrorKind.InvalidArgument, message: 'invalid ip-range 172.25.1.1/24: host bits set' },
      { name: 'ip-range without subnet', req: { ipRange: '172.17.1.0/24' }, kind: ErrorKind.InvalidArgument, message: 'ip-range 172.17.1.0/24 requires a subnet' },
      { name: 'ip-range of only the network address', req: { subnet: '172.25.0.0/16', ipRange: '172.25.0.0/32' }, kind: ErrorKind.InvalidArgument, message: 'ip-range 172.25.0.0/32 holds no usable address of subnet 172.25.0.0/16' },
      { name: 'aux outside', req: { subnet: '172.25.0.0/16', auxAddresses: { h: '10.0.0.5' } }, kind: ErrorKind.InvalidArgument, message: 'aux address h=10.0.0.5 is not in subnet 172.25.0.0/16' },
      { name: 'aux malformed', req: { subnet: '172.25.0.0/16', auxAddresses: { h: 'x' } }, kind: ErrorKind.InvalidArgument, message: 'invalid aux address h "x"' },
      { name: 'aux is the gateway', req: { subnet: '172.25.0.0/16', auxAddresses: { h: '172.25.0.1' } }, kind: ErrorKind.InvalidArgument, message: 'aux address h=172.25.0.1 is the gateway of subnet 172.25.0.0/16' },
      { name: 'aux twice', req: { subnet: '172.25.0.0/16', auxAddresses: { a: '172.25.0.5', b: '172.25.0.5' } }, kind: ErrorKind.InvalidArgument, message: 'aux address b=172.25.0.5 is also aux address a' },
      { name: 'aux without subnet', req: { auxAddresses: { a: '172.17.0.5' } }, kind: ErrorKind.InvalidArgument, message: 'aux addresses require a subnet' },
      { name: 'defaultPool of other family', req: { defaultPool: 'fd00::/64' }, kind: ErrorKind.InvalidArgument, message: 'default pool fd00::/64 is not an IPv4 subnet' },
      { name: 'defaultPool malformed', req: { defaultPool: '172.17.0.1/16' }, kind: ErrorKind.InvalidArgument, message: 'invalid default pool 172.17.0.1/16: host bits set' },
      { name: 'missing owner', req: { owner: '' }, kind: ErrorKind.InvalidArgument, message: 'ipam pool for network "mynet": owner id is required' },
      { name: 'bad host route', req: {}, routes: ['x/8'], kind: ErrorKind.InvalidArgument, message: 'invalid host route "x/8"' },
      { name: 'overlaps host route', req: { subnet: '10.0.2.0/24' }, routes: ['10.0.2.0/24'], kind: ErrorKind.Conflict, message: 'subnet 10.0.2.0/24 overlaps route 10.0.2.0/24 on the host' },
      { name: 'overlaps a /32 host route', req: { subnet: '10.0.0.0/16' }, routes: ['10.0.2.15/32'], kind: ErrorKind.Conflict, message: 'subnet 10.0.0.0/16 overlaps route 10.0.2.15/32 on the host' },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.message}`, async () => {
        await rejectsKind(ts.store.txn((t) => ipam.requestPool(t, poolReq(c.req), c.routes ?? [])), c.kind, c.message);
        assert.deepEqual(await ts.store.list('ipam/'), [], 'nothing written');
      });
    }
    it('overlapping another network names it', async () => {
      await ts.store.txn((t) => ipam.requestPool(t, poolReq({ owner: 'other', ownerName: 'mynet', subnet: '172.25.0.0/16' }), []));
      await rejectsKind(request(2, { subnet: '172.25.0.0/16' }), ErrorKind.Conflict, 'subnet 172.25.0.0/16 overlaps network "mynet" (172.25.0.0/16)');
      await rejectsKind(request(3, { subnet: '172.25.128.0/17' }), ErrorKind.Conflict, 'subnet 172.25.128.0/17 overlaps network "mynet" (172.25.0.0/16)');
    });
  });
});
