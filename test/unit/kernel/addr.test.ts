import { strict as assert } from 'node:assert';
import { bufferToIp, canonicalSubnet, contains, ipToBuffer, macFromIpv4, overlaps, splitCidr } from '../../../src/kernel/addr';
import { InvalidArgumentError } from '../../../src/errors';

describe('kernel/addr', () => {
  const roundTrips = ['10.0.0.1', '255.255.255.255', '::', '::1', 'fd00::5', '2001:db8::1:0:0:1', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8', '2001:db8:0:1::'];
  for (const ip of roundTrips) it(`round-trips ${ip}`, () => assert.equal(bufferToIp(ipToBuffer(ip)), ip));
  it('canonicalizes v6 text (RFC 5952)', () => assert.equal(bufferToIp(ipToBuffer('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1'));
  it('reads embedded IPv4 in v6', () => assert.equal(bufferToIp(ipToBuffer('::ffff:1.2.3.4')), '::ffff:102:304'));

  const cidrs: [string, string][] = [['172.25.3.4/16', '172.25.0.0/16'], ['fd00:1:2:3::9/48', 'fd00:1:2::/48'], ['10.0.0.0/8', '10.0.0.0/8'], ['0.0.0.0/0', '0.0.0.0/0']];
  for (const [input, want] of cidrs) it(`canonical subnet of ${input} is ${want}`, () => assert.equal(canonicalSubnet(input), want));

  const bad = ['172.25.0.0/33', '300.1.1.0/24', '1.2.3/24', 'fd00::/129', 'abc', '10.0.0.0/-1', '10.0.0.0/ 8'];
  for (const input of bad) it(`refuses ${JSON.stringify(input)} with InvalidArgument`, () => assert.throws(() => splitCidr(input), InvalidArgumentError));

  const containment: [string, string, boolean][] = [['172.25.0.0/16', '172.25.255.255', true], ['172.25.0.0/16', '172.26.0.0', false], ['fd00::/64', 'fd00::ffff', true], ['fd00::/64', '10.0.0.1', false]];
  for (const [net, ip, want] of containment) it(`${ip} in ${net}: ${want}`, () => assert.equal(contains(net, ip), want));

  const pairs: [string, string, boolean][] = [['172.25.0.0/16', '172.25.128.0/17', true], ['172.25.0.0/16', '172.26.0.0/16', false], ['10.0.0.0/8', '10.255.0.0/16', true], ['fd00::/8', 'fd12::/64', true], ['fd00::/64', '172.25.0.0/16', false]];
  for (const [a, b, want] of pairs) it(`${a} overlaps ${b}: ${want}`, () => { assert.equal(overlaps(a, b), want); assert.equal(overlaps(b, a), want); });

  it("derives Docker's MAC from an IPv4 address", () => assert.equal(macFromIpv4('172.25.0.2'), '02:42:ac:19:00:02'));
});
