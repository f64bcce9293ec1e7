/** The rule model: hashes, names, families, de-duplication. */
import { strict as assert } from 'node:assert';
import { ConflictError, InvalidArgumentError, UnsupportedError } from '../../../src/errors';
import { familiesOfRules, networkChain, networkHash, networkRules, portRules, validateBridgeName } from '../../../src/firewall/rules';
import { DUAL_EP, DUAL_NET, NAT_NET } from './cases';

describe('firewall rule model', () => {
  it('names per-network chains with 13 hex characters of a hash of the id', () => {
    assert.match(networkHash('abc'), /^[0-9a-f]{13}$/);
    assert.equal(networkHash('abc'), networkHash('abc'));
    assert.notEqual(networkHash('abc'), networkHash('abd'));
    assert.ok(networkChain(networkHash('x')).length <= 28);
  });

  it('accepts bridge names the kernel does and rejects wildcards or overlong names', () => {
    for (const ok of ['br0', 'br-1234567890ab', 'docker_gwbridge'.slice(0, 15), 'a.b']) assert.equal(validateBridgeName(ok), ok);
    for (const bad of ['', 'br+', 'br 0', 'a"b', 'abcdefghijklmnop']) assert.throws(() => validateBridgeName(bad), InvalidArgumentError);
  });

  it('splits and canonicalises subnets by family', () => {
    const n = networkRules({ ...DUAL_NET, subnets: ['172.19.0.7/24', 'FD00:19:0::/64'] });
    assert.deepEqual(n.subnets, { 4: ['172.19.0.0/24'], 6: ['fd00:19::/64'] });
    assert.deepEqual(familiesOfRules({ base: true, networks: [networkRules(NAT_NET)], ports: [] }), [4]);
  });

  it('expands "" to both families, 0.0.0.0 / :: to one, and keeps two bindings of one container port', () => {
    const rules = portRules(DUAL_EP);
    assert.deepEqual(rules.map((r) => `${r.family}|${r.hostIp}|${r.hostPort}/${r.protocol}`), [
      '4||8080/tcp', '6||8080/tcp', '4|127.0.0.1|8081/tcp', '4||5353/udp', '6|fd00:19::1|9999/sctp',
    ]);
  });

  it('rejects two container ports on one host binding', () => {
    const ep = { ...DUAL_EP, ports: [{ protocol: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 80 }, { protocol: 'tcp' as const, containerPort: 81, hostIp: '0.0.0.0', hostPort: 80 }] };
    assert.throws(() => portRules(ep), ConflictError);
  });

  it('refuses IPv6 loopback bindings: the kernel never routes ::1 off lo, only a proxy could serve them', () => {
    assert.throws(() => portRules({ ...DUAL_EP, ports: [{ protocol: 'tcp', containerPort: 80, hostIp: '::1', hostPort: 80 }] }), UnsupportedError);
  });
});
