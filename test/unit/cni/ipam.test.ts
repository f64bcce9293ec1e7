/** host-local ranges as tsnet pools: covering block, reserved leftovers, the limits, and range sets. */
import { strict as assert } from 'node:assert';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import { ipamPools, ipamRoutes, MAX_EXCLUDED, rangeToPool } from '../../../plugins/cni/ipam';

const code = (c: number, re?: RegExp) => (e: CniError) => e.code === c && (!re || re.test(e.message));

describe('cni ipam section', () => {
  const cases: [string, Parameters<typeof rangeToPool>[0], object][] = [
    ['a whole subnet', { subnet: '10.1.0.0/24' }, { subnet: '10.1.0.0/24' }],
    ['host bits masked, as host-local', { subnet: '10.1.0.7/24' }, { subnet: '10.1.0.0/24' }],
    ['a given gateway', { subnet: '10.1.0.0/24', gateway: '10.1.0.254' }, { subnet: '10.1.0.0/24', gateway: '10.1.0.254' }],
    ['an aligned range', { subnet: '10.1.0.0/16', rangeStart: '10.1.2.0', rangeEnd: '10.1.2.255' }, { subnet: '10.1.0.0/16', ipRange: '10.1.2.0/24' }],
    ['a range over the usable span', { subnet: '10.1.0.0/24', rangeStart: '10.1.0.1', rangeEnd: '10.1.0.254' }, { subnet: '10.1.0.0/24' }],
    ['a range missing a few addresses at both ends', { subnet: '10.1.0.0/24', rangeStart: '10.1.0.3', rangeEnd: '10.1.0.252' },
      { subnet: '10.1.0.0/24', auxAddresses: { 'cni-outside-range-1': '10.1.0.2', 'cni-outside-range-2': '10.1.0.253', 'cni-outside-range-3': '10.1.0.254' } }],
    ['leftovers never include the gateway', { subnet: '10.1.0.0/24', rangeStart: '10.1.0.3', gateway: '10.1.0.1' }, { subnet: '10.1.0.0/24', gateway: '10.1.0.1', auxAddresses: { 'cni-outside-range-1': '10.1.0.2' } }],
    ['an IPv6 block', { subnet: 'fd00:1::/64', rangeStart: 'fd00:1::100', rangeEnd: 'fd00:1::1ff' }, { subnet: 'fd00:1::/64', ipRange: 'fd00:1::100/120' }],
  ];
  for (const [what, range, want] of cases) it(`converts ${what}`, () => assert.deepEqual(rangeToPool(range, 'r'), want));

  it(`refuses a range that leaves more than ${MAX_EXCLUDED} addresses of its block out (code 2)`, () => {
    assert.throws(() => rangeToPool({ subnet: '10.1.0.0/16', rangeStart: '10.1.0.200', rangeEnd: '10.1.2.10' }, 'r'), code(CniCode.UnsupportedField, /leaves \d+ addresses/));
  });

  const invalid: [string, Parameters<typeof rangeToPool>[0], RegExp][] = [
    ['subnet without prefix', { subnet: '10.1.0.0' }, /not a CIDR/],
    ['start outside the subnet', { subnet: '10.1.0.0/24', rangeStart: '10.2.0.1' }, /not in subnet/],
    ['start after end', { subnet: '10.1.0.0/24', rangeStart: '10.1.0.9', rangeEnd: '10.1.0.8' }, /after rangeEnd/],
    ['a v6 gateway in a v4 range', { subnet: '10.1.0.0/24', gateway: 'fd00::1' }, /not an IPv4 address/],
  ];
  for (const [what, range, re] of invalid) it(`refuses ${what} (code 7)`, () => assert.throws(() => rangeToPool(range, 'r'), code(CniCode.InvalidNetworkConfig, re)));

  it('takes the legacy single range first, then range sets, one per family', () => {
    const pools = ipamPools({ type: 'host-local', subnet: '10.1.0.0/24', ranges: [[{ subnet: 'fd00::/64' }]] });
    assert.deepEqual(pools.map((p) => p.subnet), ['10.1.0.0/24', 'fd00::/64']);
    assert.deepEqual(ipamPools(undefined), []);
    assert.deepEqual(ipamPools({ type: 'host-local' }), []);
  });

  const unsupported: [string, Parameters<typeof ipamPools>[0], RegExp][] = [
    ['another ipam plugin', { type: 'dhcp' }, /ipam.type "dhcp"/],
    ['two ranges in one set', { ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: '10.2.0.0/24' }]] }, /one range per range set/],
    ['two IPv4 sets', { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.0.0/24' }]] }, /second IPv4/],
  ];
  for (const [what, ipam, re] of unsupported) it(`refuses ${what} (code 2)`, () => assert.throws(() => ipamPools(ipam), code(CniCode.UnsupportedField, re)));

  it('refuses range fields without a subnet (code 7)', () => assert.throws(() => ipamPools({ rangeStart: '10.0.0.1' }), code(CniCode.InvalidNetworkConfig)));

  it('canonicalizes routes and checks the gateway family', () => {
    assert.deepEqual(ipamRoutes({ routes: [{ dst: '10.5.1.0/16', gw: '10.1.0.9' }, { dst: '0.0.0.0/0' }] }), [{ dst: '10.5.0.0/16', gw: '10.1.0.9' }, { dst: '0.0.0.0/0' }]);
    assert.throws(() => ipamRoutes({ routes: [{ dst: '::/0', gw: '10.0.0.1' }] }), code(CniCode.InvalidNetworkConfig, /not an IPv6/));
    assert.throws(() => ipamRoutes({ routes: [{ dst: 'default' }] }), code(CniCode.InvalidNetworkConfig, /not a CIDR/));
  });
});
