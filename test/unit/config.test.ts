import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkDaemonConfig, loadDaemonConfig, parseDaemonConfig, readDaemonConfig, RELOADABLE_KEYS, TSNET_KEYS } from '../../src/config';
import { DOCKERD_OTHER_KEYS } from '../../src/config/dockerd-keys';
import { InvalidArgumentError } from '../../src/errors';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'fixtures', 'daemon');
const cases = (dir: string) => fs.readdirSync(path.join(FIXTURES, dir)).filter((f) => f.endsWith('.json')).sort();

describe('daemon config', () => {
  it('reads the issue\'s tutorial example as Docker does (IPv6 keys inert without "ipv6": true, string mtu)', () => {
    const cfg = loadDaemonConfig(path.join(FIXTURES, 'valid', 'tutorial-customise-docker0.json'));
    assert.deepEqual(cfg, {
      bip: '192.168.1.5/24', 'fixed-cidr': '192.168.1.128/25', 'fixed-cidr-v6': '2001:db8::/64', mtu: 1500,
      'default-gateway': '192.168.1.1', 'default-gateway-v6': '2001:db8:abcd::89', dns: ['10.20.1.2', '10.20.1.3'],
    });
    assert.equal(parseDaemonConfig({ mtu: '1500' }).mtu, 1500);
    assert.equal(parseDaemonConfig({ 'default-address-pools': [{ base: '10.10.0.0/16', size: '24' }] })['default-address-pools']![0].size, 24);
  });

  for (const file of cases('valid')) {
    it(`accepts fixtures/daemon/valid/${file}`, () => {
      const raw = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'valid', file), 'utf8')) as Record<string, unknown>;
      const report = readDaemonConfig(path.join(FIXTURES, 'valid', file));
      // Every key is either read or listed as ignored, never dropped silently.
      assert.deepEqual([...Object.keys(report.config), ...report.ignored].sort(), Object.keys(raw).sort());
    });
  }

  for (const file of cases('invalid')) {
    it(`refuses fixtures/daemon/invalid/${file} in one line naming key, value and expectation`, () => {
      const where = path.join(FIXTURES, 'invalid', file);
      const expected = fs.readFileSync(where.replace(/\.json$/, '.error'), 'utf8').trim();
      assert.throws(() => readDaemonConfig(where), (e: Error) => {
        assert.ok(e instanceof InvalidArgumentError);
        // A trailing … stands for the parser's own wording after it (its position format varies by Node release).
        if (expected.endsWith('…')) assert.ok(e.message.startsWith(`daemon config ${where}: ${expected.slice(0, -1)}`), e.message);
        else assert.equal(e.message, `daemon config ${where}: ${expected}`);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    });
  }

  it('lists the keys of other parts of dockerd as ignored and says how userland-proxy and iptables are taken', () => {
    const r = checkDaemonConfig({ 'registry-mirrors': [], 'log-driver': 'local', 'userland-proxy': true, iptables: false });
    assert.deepEqual(r.ignored, ['registry-mirrors', 'log-driver']);
    assert.equal(r.notes.length, 3);
    assert.match(r.notes[0], /userland-proxy.*without a userland proxy/);
    assert.deepEqual(checkDaemonConfig({ 'userland-proxy': false }).notes, []);
  });

  it('names every bad key once, in one line', () => {
    assert.throws(() => parseDaemonConfig({ mtu: true, dns: ['x'], icc: 'no' }, 'cfg'), {
      message: 'cfg: "mtu": true is not an integer from 68 to 65535 (or 0); "dns": ["x"] holds "x", which is not an IP address; "icc": no is not a boolean (true or false)',
    });
  });

  it('keeps its key table and dockerd\'s other keys apart', () => {
    for (const k of Object.keys(TSNET_KEYS)) assert.ok(!DOCKERD_OTHER_KEYS.has(k), k);
    assert.deepEqual([...RELOADABLE_KEYS].sort(), ['default-address-pools', 'dns', 'dns-opts', 'dns-search', 'ip-forward', 'ip6tables', 'iptables', 'userland-proxy']);
  });

  it('treats a missing or empty file as empty, tolerates a byte order mark, and names the file of a malformed one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cfg-'));
    try {
      assert.deepEqual(loadDaemonConfig(path.join(dir, 'none.json')), {});
      fs.writeFileSync(path.join(dir, 'empty.json'), '  \n');
      assert.deepEqual(loadDaemonConfig(path.join(dir, 'empty.json')), {});
      fs.writeFileSync(path.join(dir, 'bom.json'), '\uFEFF{"mtu": 1450}');
      assert.deepEqual(loadDaemonConfig(path.join(dir, 'bom.json')), { mtu: 1450 });
      fs.writeFileSync(path.join(dir, 'bad.json'), '{"bip": ');
      assert.throws(() => loadDaemonConfig(path.join(dir, 'bad.json')), /bad\.json: invalid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
