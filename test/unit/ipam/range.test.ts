import { strict as assert } from 'node:assert';
import { ErrorKind } from '../../../src/errors';
import { canonicalIp, edgeOf, ipOf, nextInRange, parseSubnet, rangeSize, subnetWithin, usableRange } from '../../../src/ipam/range';
import { ipToBigInt } from '../../../src/kernel/addr';
import { throwsKind } from './helpers';

/** Range as text, to compare tables readably. */
function show(subnet: string, ipRange?: string): [string, string, bigint] {
  const s = parseSubnet(subnet, 'subnet');
  const r = usableRange(s, ipRange ? parseSubnet(ipRange, 'ip-range') : undefined);
  return [ipOf(r.family, r.first), ipOf(r.family, r.last), rangeSize(r)];
}

describe('ipam/range', () => {
  describe('parseSubnet', () => {
    const good: [string, string][] = [
      ['172.25.0.0/16', '172.25.0.0/16'],
      ['10.0.0.0/8', '10.0.0.0/8'],
      ['fd00:0:0:1::/64', 'fd00:0:0:1::/64'],
      ['FD00::/64', 'fd00::/64'],
    ];
    for (const [text, cidr] of good) {
      it(`accepts ${text} as ${cidr}`, () => assert.equal(parseSubnet(text, 'subnet').cidr, cidr));
    }
    const bad: [string, string][] = [
      ['300.1.1.1/8', 'invalid subnet "300.1.1.1/8"'],
      ['172.25.0.0', 'invalid subnet "172.25.0.0"'],
      ['172.25.0.0/33', 'invalid subnet "172.25.0.0/33"'],
      ['172.25.0.0/', 'invalid subnet "172.25.0.0/"'],
      ['bogus', 'invalid subnet "bogus"'],
      ['172.25.0.1/16', 'invalid subnet 172.25.0.1/16: host bits set'],
      ['fd00::1/64', 'invalid subnet fd00::1/64: host bits set'],
    ];
    for (const [text, message] of bad) {
      it(`refuses ${text}`, () => throwsKind(() => parseSubnet(text, 'subnet'), ErrorKind.InvalidArgument, message));
    }
  });

  describe('usableRange', () => {
    const cases: { subnet: string; ipRange?: string; want: [string, string, bigint] }[] = [
      { subnet: '172.25.0.0/16', want: ['172.25.0.1', '172.25.255.254', 65534n] },
      { subnet: '10.0.0.0/30', want: ['10.0.0.1', '10.0.0.2', 2n] },
      // v6 has no broadcast address: only the subnet-router anycast (the base) is skipped.
      { subnet: 'fd00::/126', want: ['fd00::1', 'fd00::3', 3n] },
      { subnet: '172.25.0.0/16', ipRange: '172.25.1.0/24', want: ['172.25.1.0', '172.25.1.255', 256n] },
      // A range at either edge of the subnet still loses the network and broadcast addresses.
      { subnet: '172.25.0.0/24', ipRange: '172.25.0.0/25', want: ['172.25.0.1', '172.25.0.127', 127n] },
      { subnet: '172.25.0.0/24', ipRange: '172.25.0.128/25', want: ['172.25.0.128', '172.25.0.254', 127n] },
    ];
    for (const c of cases) {
      it(`${c.subnet}${c.ipRange ? ` range ${c.ipRange}` : ''}`, () => assert.deepEqual(show(c.subnet, c.ipRange), c.want));
    }
    it('is empty for a range holding only the network address', () => {
      assert.equal(show('172.25.0.0/24', '172.25.0.0/32')[2], 0n);
    });
  });

  describe('nextInRange', () => {
    const r = usableRange(parseSubnet('10.0.0.0/29', 'subnet'));
    const cases: [string, string][] = [
      ['10.0.0.1', '10.0.0.2'],
      ['10.0.0.5', '10.0.0.6'],
      ['10.0.0.6', '10.0.0.1'], // wraps after the last usable address
      ['10.0.0.7', '10.0.0.1'], // outside the range restarts at the first
      ['9.0.0.1', '10.0.0.1'],
    ];
    for (const [from, want] of cases) {
      it(`${from} -> ${want}`, () => assert.equal(ipOf(4, nextInRange(r, ipToBigInt(from))), want));
    }
  });

  describe('edges and containment', () => {
    const s = parseSubnet('172.25.0.0/16', 'subnet');
    const cases: [string, string | undefined][] = [
      ['172.25.0.0', 'network'], ['172.25.255.255', 'broadcast'], ['172.25.0.1', undefined], ['172.25.255.254', undefined],
    ];
    for (const [ip, want] of cases) it(`${ip} is ${want ?? 'a host'}`, () => assert.equal(edgeOf(s, ipToBigInt(ip)), want));
    it('v6 has no broadcast edge', () => {
      const v6 = parseSubnet('fd00::/126', 'subnet');
      assert.equal(edgeOf(v6, ipToBigInt('fd00::3')), undefined);
      assert.equal(edgeOf(v6, ipToBigInt('fd00::')), 'network');
    });
    it('subnetWithin', () => {
      assert.equal(subnetWithin(s, parseSubnet('172.25.3.0/24', 'x')), true);
      assert.equal(subnetWithin(s, parseSubnet('172.0.0.0/8', 'x')), false);
      assert.equal(subnetWithin(s, parseSubnet('fd00::/64', 'x')), false);
    });
    it('canonicalIp gives one spelling per address', () => assert.equal(canonicalIp('FD00:0:0::05'), 'fd00::5'));
  });
});
