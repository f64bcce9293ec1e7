import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { loadDaemonConfig } from '../../../src/config';
import { BridgeOption, defaultBridgeSpec } from '../../../src/drivers/bridge/options';

const VALID = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'daemon', 'valid');
const spec = (fixture: string, adopted?: string) => defaultBridgeSpec(loadDaemonConfig(path.join(VALID, `${fixture}.json`)), adopted);

describe('default bridge from daemon.json (dockerd initBridgeDriver)', () => {
  const cases: { fixture: string; ipam: unknown[]; ipv6?: boolean; defaultPool?: string; options?: Record<string, string> }[] = [
    { fixture: 'empty', ipam: [], defaultPool: '172.17.0.0/16' },
    { fixture: 'tutorial-customise-docker0', ipam: [{ subnet: '192.168.1.0/24', gateway: '192.168.1.5', ipRange: '192.168.1.128/25', auxAddresses: { DefaultGatewayIPv4: '192.168.1.1' } }], ipv6: false, options: { [BridgeOption.mtu]: '1500' } },
    { fixture: 'fixed-cidr-alone', ipam: [{ subnet: '10.124.5.0/24', gateway: '10.124.5.1' }] },
    { fixture: 'default-gateway-v6', ipam: [{ subnet: 'fd00:123::/64', auxAddresses: { DefaultGatewayIPv6: 'fd00:123::fe' } }], ipv6: true, defaultPool: '172.17.0.0/16' },
    { fixture: 'ipv6-keys-inert', ipam: [], ipv6: false, defaultPool: '172.17.0.0/16' },
    { fixture: 'default-address-pools', ipam: [], defaultPool: undefined },
    { fixture: 'icc', ipam: [], options: { [BridgeOption.icc]: 'false', [BridgeOption.masquerade]: 'true' } },
    { fixture: 'ip-masq', ipam: [], options: { [BridgeOption.masquerade]: 'false' } },
    { fixture: 'iptables', ipam: [], options: { [BridgeOption.masquerade]: 'false', [BridgeOption.icc]: 'true' } },
    { fixture: 'ip', ipam: [], options: { [BridgeOption.hostBindingIpv4]: '127.0.0.1' } },
  ];
  for (const c of cases) {
    it(c.fixture, () => {
      const got = spec(c.fixture)!;
      assert.deepEqual(got.spec.ipam, c.ipam);
      if (c.ipv6 !== undefined) assert.equal(got.spec.ipv6, c.ipv6);
      if ('defaultPool' in c) assert.equal(got.defaultPool, c.defaultPool);
      for (const [k, v] of Object.entries(c.options ?? {})) assert.equal(got.spec.options![k], v, k);
    });
  }
  it('"bridge": "none" makes none; "bridge": <name> adopts the device with its address standing for bip', () => {
    assert.equal(spec('bridge-none'), undefined);
    const adopted = spec('bridge-adopt', '10.126.0.1/24')!;
    assert.equal(adopted.spec.options![BridgeOption.name], 'br-ops0');
    assert.deepEqual(adopted.spec.ipam, [{ subnet: '10.126.0.0/24', gateway: '10.126.0.1' }]);
    assert.deepEqual(spec('bridge-adopt')!.spec.ipam, []);
  });
});
