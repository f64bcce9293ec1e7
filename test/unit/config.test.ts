import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDaemonConfig, parseDaemonConfig } from '../../src/config';
import { InvalidArgumentError } from '../../src/errors';

describe('daemon config', () => {
  it('accepts Docker daemon.json networking keys', () => {
    const cfg = { bip: '172.20.0.1/16', mtu: 1450, 'default-gateway': '172.20.0.254', dns: ['192.0.2.53'], 'firewall-backend': 'nftables' };
    assert.deepEqual(parseDaemonConfig(cfg), cfg);
  });
  const bad: [unknown, RegExp][] = [
    [{ bip: '172.20.0.1' }, /bip/], [{ bip: 'fd00::1/64' }, /bip/], [{ mtu: 10 }, /mtu/], [{ dns: ['not-an-ip'] }, /not-an-ip/],
    [{ unknown: 1 }, /additional properties/], [{ 'firewall-backend': 'ebtables' }, /firewall-backend/], [[], /type|object/],
  ];
  for (const [raw, re] of bad) it(`refuses ${JSON.stringify(raw)}`, () => assert.throws(() => parseDaemonConfig(raw), (e: Error) => e instanceof InvalidArgumentError && re.test(e.message)));
  it('treats a missing file as empty and a malformed one as an error naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cfg-'));
    try {
      assert.deepEqual(loadDaemonConfig(path.join(dir, 'none.json')), {});
      fs.writeFileSync(path.join(dir, 'bad.json'), '{"bip": ');
      assert.throws(() => loadDaemonConfig(path.join(dir, 'bad.json')), /bad\.json: invalid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
