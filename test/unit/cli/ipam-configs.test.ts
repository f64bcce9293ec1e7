import { strict as assert } from 'node:assert';
import { ipamConfigs } from '../../../src/cli/commands/network';

describe('cli: pairing --gateway/--ip-range/--aux-address with --subnet', () => {
  it('assigns each to the subnet that contains it', () => {
    const got = ipamConfigs({ subnet: ['172.25.0.0/16', 'fd00:1::/64'], gateway: ['fd00:1::1', '172.25.0.254'], ipRange: ['172.25.5.0/24'], auxAddress: ['router=172.25.0.2', 'v6r=fd00:1::2'] });
    assert.deepEqual(got, [
      { subnet: '172.25.0.0/16', gateway: '172.25.0.254', ipRange: '172.25.5.0/24', auxAddresses: { router: '172.25.0.2' } },
      { subnet: 'fd00:1::/64', gateway: 'fd00:1::1', auxAddresses: { v6r: 'fd00:1::2' } },
    ]);
  });
  const bad: [object, RegExp][] = [
    [{ subnet: ['10.0.0.0/24'], gateway: ['10.0.1.1'], ipRange: [], auxAddress: [] }, /gateway 10.0.1.1 is not in any --subnet/],
    [{ subnet: [], gateway: ['10.0.1.1'], ipRange: [], auxAddress: [] }, /not in any --subnet$/],
    [{ subnet: ['10.0.0.0/24'], gateway: [], ipRange: [], auxAddress: ['noequals'] }, /KEY=VALUE/],
  ];
  for (const [flags, re] of bad) it(`refuses ${JSON.stringify(flags)}`, () => assert.throws(() => ipamConfigs(flags as never), re));
});
