import { strict as assert } from 'node:assert';
import { ErrorKind } from '../../../src/errors';
import {
  DEFAULT_LOCAL_POOLS, findOverlap, noDefaultPoolMessage, overlapMessage, relevantRoutes, ulaCandidate, v4Candidates, v6Candidates,
} from '../../../src/ipam/pools';
import { parseSubnet } from '../../../src/ipam/range';
import { contains } from '../../../src/kernel/addr';
import { throwsKind } from './helpers';

describe('ipam/pools', () => {
  it("lists Docker's local defaults in order", () => {
    assert.equal(DEFAULT_LOCAL_POOLS.length, 31);
    assert.deepEqual(DEFAULT_LOCAL_POOLS.slice(0, 3), ['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16']);
    assert.equal(DEFAULT_LOCAL_POOLS[14], '172.31.0.0/16');
    assert.deepEqual(DEFAULT_LOCAL_POOLS.slice(15, 17), ['192.168.0.0/20', '192.168.16.0/20']);
    assert.equal(DEFAULT_LOCAL_POOLS[30], '192.168.240.0/20');
  });

  describe('v4Candidates', () => {
    const cases: { name: string; defaultPool?: string; first: string[]; length: number }[] = [
      { name: 'no default pool', first: ['172.17.0.0/16', '172.18.0.0/16'], length: 31 },
      { name: 'a bip outside the list goes first', defaultPool: '10.99.0.0/16', first: ['10.99.0.0/16', '172.17.0.0/16'], length: 32 },
      { name: 'a bip inside the list is not tried twice', defaultPool: '172.20.0.0/16', first: ['172.20.0.0/16', '172.17.0.0/16'], length: 31 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const got = [...v4Candidates(c.defaultPool ? parseSubnet(c.defaultPool, 'default pool') : undefined)];
        assert.deepEqual(got.slice(0, c.first.length), c.first);
        assert.equal(got.length, c.length);
        assert.equal(new Set(got).size, got.length);
      });
    }
  });

  describe('ULA candidates', () => {
    it('are /64s inside fd00::/8', () => {
      for (let i = 0; i < 10; i++) {
        const c = ulaCandidate('abc', i);
        assert.match(c, /\/64$/);
        assert.ok(contains('fd00::/8', c.split('/')[0]), c);
        assert.equal(parseSubnet(c, 'subnet').cidr, c); // canonical, no host bits
      }
    });
    it('are deterministic per owner and differ between owners and attempts', () => {
      assert.equal(ulaCandidate('net-a', 0), ulaCandidate('net-a', 0));
      assert.notEqual(ulaCandidate('net-a', 0), ulaCandidate('net-b', 0));
      assert.notEqual(ulaCandidate('net-a', 0), ulaCandidate('net-a', 1));
    });
    it('put a v6 default pool first', () => {
      assert.equal([...v6Candidates('x', parseSubnet('fd12::/64', 'p'))][0], 'fd12::/64');
      assert.equal([...v6Candidates('x')][0], ulaCandidate('x', 0));
    });
  });

  describe('default-address-pools', () => {
    const pools = [{ base: '10.10.0.0/16', size: 24 }, { base: 'fd00:10::/62', size: 64 }, { base: '10.20.0.0/23', size: 24 }];
    it('replace Docker\'s IPv4 list: each base cut into size-long subnets, in order', () => {
      const got = [...v4Candidates(undefined, pools)];
      assert.equal(got.length, 256 + 2);
      assert.deepEqual(got.slice(0, 2), ['10.10.0.0/24', '10.10.1.0/24']);
      assert.deepEqual(got.slice(-2), ['10.20.0.0/24', '10.20.1.0/24']);
    });
    it('replace the ULA sequence when one is IPv6, and leave the other family alone', () => {
      assert.deepEqual([...v6Candidates('x', undefined, pools)], ['fd00:10::/64', 'fd00:10:0:1::/64', 'fd00:10:0:2::/64', 'fd00:10:0:3::/64']);
      assert.equal([...v4Candidates(undefined, [pools[1]])][0], '172.17.0.0/16');
      assert.equal([...v6Candidates('x', undefined, [pools[0]])][0], ulaCandidate('x', 0));
    });
  });

  describe('relevantRoutes', () => {
    it('drops default routes and keeps host routes', () => {
      const got = relevantRoutes(['0.0.0.0/0', '::/0', '10.0.2.0/24', '10.0.2.15/32', '192.168.1.7', 'fd00::1/128', '10.1.2.3/16']);
      assert.deepEqual(got.map((r) => r.cidr), ['10.0.2.0/24', '10.0.2.15/32', '192.168.1.7/32', 'fd00::1/128', '10.1.0.0/16']);
    });
    it('refuses a malformed route', () => throwsKind(() => relevantRoutes(['nope']), ErrorKind.InvalidArgument, 'invalid host route "nope"'));
  });

  describe('findOverlap', () => {
    const taken = [{ subnet: '172.17.0.0/16', ownerName: 'bridge' }, { subnet: 'fd00:1::/64', ownerName: 'v6net' }];
    const routes = relevantRoutes(['10.0.2.0/24', '192.168.1.7/32']);
    const cases: { subnet: string; want?: string }[] = [
      { subnet: '172.17.0.0/16', want: 'subnet 172.17.0.0/16 overlaps network "bridge" (172.17.0.0/16)' },
      { subnet: '172.17.5.0/24', want: 'subnet 172.17.5.0/24 overlaps network "bridge" (172.17.0.0/16)' },
      { subnet: '172.0.0.0/8', want: 'subnet 172.0.0.0/8 overlaps network "bridge" (172.17.0.0/16)' },
      { subnet: '10.0.0.0/16', want: 'subnet 10.0.0.0/16 overlaps route 10.0.2.0/24 on the host' },
      { subnet: '192.168.0.0/20', want: 'subnet 192.168.0.0/20 overlaps route 192.168.1.7/32 on the host' },
      { subnet: 'fd00:1::/48', want: 'subnet fd00:1::/48 overlaps network "v6net" (fd00:1::/64)' },
      { subnet: '172.18.0.0/16' },
      { subnet: '10.0.3.0/24' },
      { subnet: 'fd00:2::/64' },
    ];
    for (const c of cases) {
      it(`${c.subnet}: ${c.want ?? 'free'}`, () => {
        const s = parseSubnet(c.subnet, 'subnet');
        const o = findOverlap(s, taken, routes);
        assert.equal(o && overlapMessage(s, o), c.want);
      });
    }
  });

  it("words exhaustion as Docker does", () => {
    assert.equal(noDefaultPoolMessage(4), 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    assert.equal(noDefaultPoolMessage(6), 'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
  });
});
