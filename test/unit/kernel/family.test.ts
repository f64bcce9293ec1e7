import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { family } from '../../../src/kernel/addr';

describe('kernel/addr family', () => {
  it('agrees with node:net isIP', () => {
    const cases = [
      '1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.4 ', '', 'a.b.c.d', '172.25.3.3', '1.2.3.04',
      '::', '::1', '1::', 'fe80::1', 'fe80::1%eth0', 'fe80::1%', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7', '1::2::3', ':1', '1:', '1:::2', '::ffff:1.2.3.4', '::ffff:1.2.3', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '12345::', 'g::1', '::1/64', '[::1]', 'fe80::1%eth0.5', 'fe80::1%a b',
    ];
    for (const c of cases) assert.equal(family(c), net.isIP(c), JSON.stringify(c));
  });
});
