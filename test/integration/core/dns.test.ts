/** The embedded resolver end to end: the daemon started on demand, real resolvers inside sandboxes. */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, tsnet } from '../../helpers/cli';
import { createOutside, type Outside } from '../../helpers/outside';

/** Runs argv inside a sandbox through `tsnet sandbox exec` and returns stdout. */
function inSandbox(name: string, ...argv: string[]): string {
  const r = spawnSync(process.execPath, [CLI, 'sandbox', 'exec', name, '--', ...argv], { encoding: 'utf8', timeout: 20000 });
  return r.stdout;
}
const dig = (sb: string, ...q: string[]) => inSandbox(sb, 'dig', '+short', '+tries=1', '+time=3', '@127.0.0.11', ...q).trim().split('\n').filter(Boolean);

describe('embedded DNS through the daemon', function () {
  this.timeout(90000);
  const run = process.pid.toString(36);
  const [n1, n2] = [`dns1-${run}`, `dns2-${run}`];
  const sbs = ['a', 'b', 'c', 'x', 'y', 'z', 'plain'].map((s) => `${s}-${run}`);
  const [a, b, c, x, y, z, plain] = sbs;

  before(() => {
    assert.equal(tsnet('create', '--subnet', '172.16.60.0/24', '--ipv6', '--subnet', 'fd00:60::/64', n1).status, 0);
    assert.equal(tsnet('create', '--subnet', '172.16.61.0/24', n2).status, 0);
    assert.equal(tsnet('sandbox', 'create', a, '--network', n1, '--alias', 'svc', '--alias', 'only1').status, 0);
    assert.equal(tsnet('sandbox', 'create', b, '--network', n1, '--alias', 'svc').status, 0);
    assert.equal(tsnet('sandbox', 'create', c, '--network', n2).status, 0);
  });
  after(() => {
    for (const s of sbs) tsnet('sandbox', 'rm', s);
    tsnet('rm', n1, n2);
  });

  it('resolves names, network-scoped aliases and short ids with getent, dig and busybox nslookup', () => {
    assert.deepEqual(dig(b, a), ['172.16.60.2']);
    // getent hosts asks AAAA first when the sandbox has IPv6, as glibc does.
    assert.match(inSandbox(b, 'getent', 'hosts', a), /^fd00:60::2\s+/);
    assert.match(inSandbox(b, 'getent', 'ahostsv4', a), /^172\.16\.60\.2\s+/);
    assert.match(inSandbox(b, 'busybox', 'nslookup', 'only1', '127.0.0.11'), /Address: 172\.16\.60\.2/);
    const [view] = JSON.parse(tsnet('sandbox', 'inspect', a).stdout);
    assert.deepEqual(dig(b, view.Id.slice(0, 12)), ['172.16.60.2']);
  });

  it('answers only for networks the asker shares, with the address on the shared network', () => {
    assert.deepEqual(dig(c, a), []);
    assert.equal(tsnet('connect', '--alias', 'only2', n2, a).status, 0);
    assert.deepEqual(dig(c, a), ['172.16.61.3']);
    assert.deepEqual(dig(b, a), ['172.16.60.2']);
    assert.deepEqual(dig(c, 'only1'), [], 'an alias is scoped to the network it was given on');
    assert.deepEqual(dig(c, 'only2'), ['172.16.61.3']);
    assert.equal(tsnet('disconnect', n2, a).status, 0);
    assert.deepEqual(dig(c, a), [], 'a sandbox that leaves is gone at once');
  });

  it('returns every address of a shared alias, rotating the order', () => {
    const orders = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const ips = dig(a, 'svc');
      assert.deepEqual([...ips].sort(), ['172.16.60.2', '172.16.60.3']);
      orders.add(ips.join(','));
    }
    assert.equal(orders.size, 2);
  });

  it('answers AAAA and PTR', () => {
    assert.deepEqual(dig(b, a, 'AAAA'), ['fd00:60::2']);
    assert.deepEqual(dig(b, '-x', '172.16.60.2'), [`${a}.${n1}.`]);
  });

  it('a sandbox that joins is resolvable immediately; the hosts file follows connect and disconnect', () => {
    assert.equal(tsnet('sandbox', 'create', x, '--network', n1).status, 0);
    assert.deepEqual(dig(a, x), ['172.16.60.4']);
    assert.equal(tsnet('connect', n2, x).status, 0);
    assert.match(inSandbox(x, 'cat', '/etc/hosts'), /172\.16\.61\.\d+\t/);
    assert.equal(tsnet('disconnect', n2, x).status, 0);
    assert.doesNotMatch(inSandbox(x, 'cat', '/etc/hosts'), /172\.16\.61\./);
  });

  it('gives no name resolution on the default bridge: the host resolv.conf without loopback servers', () => {
    assert.equal(tsnet('sandbox', 'create', plain).status, 0);
    const conf = inSandbox(plain, 'cat', '/etc/resolv.conf');
    assert.doesNotMatch(conf, /127\.0\.0\.11/);
    assert.doesNotMatch(conf, /nameserver 127\./);
    assert.match(conf, /^nameserver /m);
  });

  describe('forwarding to upstream servers', () => {
    let outside: Outside;
    let dnsmasq: ChildProcess;
    let dir: string;
    before(async () => {
      outside = await createOutside(`d${run}`);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-dnsmasq-'));
      dnsmasq = spawn('nsenter', [`--net=${outside.key}`, '--', 'dnsmasq', '--no-daemon', '--no-resolv', '--no-hosts', `--pid-file=${dir}/pid`, '--listen-address', outside.outsideIp, '--bind-interfaces', '--address=/example.test/203.0.113.7'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
    });
    after(async () => {
      dnsmasq.kill();
      await outside.remove();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('forwards other names to --dns servers and answers SERVFAIL promptly when they are unreachable', () => {
      assert.equal(tsnet('sandbox', 'create', y, '--network', n1, '--dns', outside.outsideIp).status, 0);
      assert.deepEqual(dig(y, 'www.example.test'), ['203.0.113.7']);
      assert.deepEqual(dig(y, a), ['172.16.60.2'], 'own names still answered locally');
      assert.equal(tsnet('sandbox', 'create', z, '--network', n1, '--dns', '198.51.100.99').status, 0);
      const t = Date.now();
      const out = inSandbox(z, 'dig', '+tries=1', '+time=5', '@127.0.0.11', 'www.example.test');
      assert.match(out, /status: SERVFAIL/);
      assert.ok(Date.now() - t < 4500, `SERVFAIL took ${Date.now() - t} ms`);
    });
  });
});
