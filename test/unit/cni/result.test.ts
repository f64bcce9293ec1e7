/** Result conversion between spec versions, prevResult decoding, and appending to a previous plugin's result. */
import { strict as assert } from 'node:assert';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import { appendResult, type CniResult, decodeResult, encodeResult } from '../../../plugins/cni/result';
import { SUPPORTED_VERSIONS } from '../../../plugins/cni/version';

const full: CniResult = {
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:00:00:01', mtu: 1500 },
    { name: 'veth1', mac: '0a:58:0a:00:00:02', mtu: 1500 },
    { name: 'eth0', mac: '02:42:0a:00:00:03', mtu: 1500, sandbox: '/run/netns/c', socketPath: '/s', pciID: '0000:00:01.0' },
  ],
  ips: [{ address: '10.0.0.3/24', gateway: '10.0.0.1', interface: 2 }, { address: 'fd00::3/64', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 }, { dst: '::/0' }],
  dns: { nameservers: ['10.0.0.1'], search: ['svc.local'] },
};

describe('cni results across versions', () => {
  it('1.1.0 keeps every field', () => {
    const r = encodeResult(full, '1.1.0') as any;
    assert.deepEqual(r.interfaces[2], full.interfaces[2]);
    assert.deepEqual(r.routes[0], full.routes[0]);
  });

  it('1.0.0 drops the 1.1 interface and route attributes, nothing else', () => {
    const r = encodeResult(full, '1.0.0') as any;
    assert.deepEqual(r.interfaces[2], { name: 'eth0', mac: '02:42:0a:00:00:03', sandbox: '/run/netns/c' });
    assert.deepEqual(r.routes[0], { dst: '0.0.0.0/0', gw: '10.0.0.1' });
    assert.deepEqual(r.ips[1], { address: 'fd00::3/64', interface: 2 });
  });

  for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    it(`${v} adds ips[].version from the address family`, () => {
      const r = encodeResult(full, v) as any;
      assert.equal(r.cniVersion, v);
      assert.deepEqual(r.ips, [{ version: '4', address: '10.0.0.3/24', gateway: '10.0.0.1', interface: 2 }, { version: '6', address: 'fd00::3/64', interface: 2 }]);
    });
  }

  for (const v of SUPPORTED_VERSIONS) {
    it(`a ${v} result decodes back to what was encoded (minus what ${v} cannot carry)`, () => {
      const back = decodeResult(JSON.parse(JSON.stringify(encodeResult(full, v))));
      const again = encodeResult(back, v);
      assert.deepEqual(again, encodeResult(full, v));
      assert.equal(back.ips[0].interface, 2);
      assert.equal((back.ips[0] as any).version, undefined);
    });
  }

  it('always writes dns, as an object', () => {
    assert.deepEqual((encodeResult({ interfaces: [], ips: [], routes: [], dns: {} }, '1.0.0') as any).dns, {});
  });

  const bad: [string, unknown, RegExp][] = [
    ['a list', [], /must be an object/],
    ['0.2 ip4', { ip4: { ip: '10.0.0.2/24' } }, /0.1\/0.2/],
    ['interfaces not a list', { interfaces: {} }, /interfaces must be a list/],
    ['interface without name', { interfaces: [{ mac: 'x' }] }, /interfaces\[0\] needs a name/],
    ['address without prefix', { ips: [{ address: '10.0.0.2' }] }, /ips\[0\].address/],
    ['prefix too long', { ips: [{ address: '10.0.0.2/33' }] }, /ips\[0\].address/],
    ['interface index out of range', { interfaces: [{ name: 'a' }], ips: [{ address: '10.0.0.2/24', interface: 1 }] }, /index interfaces/],
    ['gateway not an IP', { ips: [{ address: '10.0.0.2/24', gateway: 'gw' }] }, /gateway/],
    ['route dst not a CIDR', { routes: [{ dst: 'default' }] }, /routes\[0\].dst/],
    ['dns.nameservers not strings', { dns: { nameservers: [1] } }, /dns.nameservers/],
  ];
  for (const [what, raw, re] of bad) {
    it(`refuses a prevResult with ${what} (code 7)`, () => {
      assert.throws(() => decodeResult(raw), (e: CniError) => e.code === CniCode.InvalidNetworkConfig && re.test(e.message));
    });
  }

  it('appends to a previous result, re-basing interface indices and keeping the earlier DNS', () => {
    const prev = decodeResult({ interfaces: [{ name: 'lo', sandbox: '/run/netns/c' }], ips: [{ address: '127.0.0.1/8', interface: 0 }], routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }], dns: { nameservers: ['1.1.1.1'] } });
    const r = appendResult(prev, full);
    assert.deepEqual(r.interfaces.map((i) => i.name), ['lo', 'cni0', 'veth1', 'eth0']);
    assert.deepEqual(r.ips.map((i) => i.interface), [0, 3, 3]);
    assert.equal(r.routes.filter((x) => x.dst === '0.0.0.0/0').length, 1);
    assert.deepEqual(r.dns, { nameservers: ['1.1.1.1'] });
    assert.deepEqual(appendResult({ interfaces: [], ips: [], routes: [], dns: {} }, full).dns, full.dns);
  });
});
