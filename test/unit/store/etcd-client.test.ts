/** The etcd backend without a server: address and option parsing, error wording, lazy loading, deadlines. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorKind, TsnetError } from '../../../src/errors';
import { shortReason } from '../../../src/store/etcd-call';
import { parseClusterUrl, readClusterTls } from '../../../src/store/etcd-url';
import { openClusterStore } from '../../../src/store/etcd';
import { rejectsKind, throwsKind } from '../ipam/helpers';

describe('etcd client', () => {
  describe('parseClusterUrl', () => {
    const good: [string, string[], string, string][] = [
      ['etcd://10.0.0.1:2379', ['10.0.0.1:2379'], 'tsnet', 'etcd://10.0.0.1:2379'],
      ['etcd://10.0.0.1:2379,10.0.0.2:2379/docker/network', ['10.0.0.1:2379', '10.0.0.2:2379'], 'docker/network', 'etcd://10.0.0.1:2379,10.0.0.2:2379'],
      ['etcd://etcd-0.local:2379//tsnet/', ['etcd-0.local:2379'], 'tsnet', 'etcd://etcd-0.local:2379'],
      ['etcd://[fd00::1]:2379/', ['[fd00::1]:2379'], 'tsnet', 'etcd://[fd00::1]:2379'],
    ];
    for (const [url, hosts, prefix, endpoint] of good) {
      it(`parses ${url}`, () => assert.deepEqual(parseClusterUrl(url), { hosts, prefix, endpoint }));
    }
    const bad: [string, string][] = [
      ['consul://10.0.0.1:8500', 'cluster store consul://10.0.0.1:8500: expected etcd://host:port[,host:port…][/prefix]'],
      ['etcd://10.0.0.1', 'cluster store etcd://10.0.0.1: "10.0.0.1" is not host:port'],
      ['etcd://10.0.0.1:2379,', 'cluster store etcd://10.0.0.1:2379,: "" is not host:port'],
      ['etcd://10.0.0.1:99999', 'cluster store etcd://10.0.0.1:99999: "10.0.0.1:99999" is not host:port'],
      ['etcd://', 'cluster store etcd://: "" is not host:port'],
    ];
    for (const [url, message] of bad) it(`refuses ${url}`, () => throwsKind(() => parseClusterUrl(url), ErrorKind.InvalidArgument, message));
  });

  describe('TLS options', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-tls-'));
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(dir, f), f);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('none given: plain gRPC', () => assert.equal(readClusterTls({ 'other.opt': 'x' }), undefined));
    it('reads the CA, certificate and key', () => {
      const tls = readClusterTls({ 'kv.cacertfile': path.join(dir, 'ca.pem'), 'kv.certfile': path.join(dir, 'cert.pem'), 'kv.keyfile': path.join(dir, 'key.pem') });
      assert.deepEqual([tls?.rootCertificate?.toString(), tls?.certChain?.toString(), tls?.privateKey?.toString()], ['ca.pem', 'cert.pem', 'key.pem']);
    });
    it('a CA alone is server authentication only', () => {
      assert.deepEqual(readClusterTls({ 'kv.cacertfile': path.join(dir, 'ca.pem') }), { rootCertificate: Buffer.from('ca.pem') });
    });
    const bad: [Record<string, string>, string][] = [
      [{ 'kv.certfile': 'c' }, 'cluster store options kv.certfile and kv.keyfile go together'],
      [{ 'kv.cafile': 'c' }, 'cluster store option kv.cafile: unknown (known: kv.cacertfile, kv.certfile, kv.keyfile)'],
      [{ 'kv.cacertfile': '/nonexistent/ca.pem' }, 'cluster store option kv.cacertfile=/nonexistent/ca.pem: ENOENT'],
    ];
    for (const [opts, message] of bad) it(`refuses ${JSON.stringify(opts)}`, () => throwsKind(() => readClusterTls(opts), ErrorKind.InvalidArgument, message));
  });

  describe('shortReason', () => {
    const cases: [string, string][] = [
      ['14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ', 'connect ECONNREFUSED'],
      ['14 UNAVAILABLE: No connection established. Last error: Error: connect EHOSTUNREACH [fd00::1]:2379', 'connect EHOSTUNREACH'],
      ['4 DEADLINE_EXCEEDED: Deadline exceeded after 3.998s', 'deadline exceeded'],
      ['14 UNAVAILABLE: etcdserver: leader changed', 'etcdserver: leader changed'],
    ];
    for (const [message, want] of cases) it(`${want}`, () => assert.equal(shortReason(new Error(message)), want));
  });

  it('loads etcd3 only when a cluster store is opened', () => {
    const mod = path.join(__dirname, '../../../src/store/etcd.js');
    const script = `const m = require(${JSON.stringify(mod)});
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/etcd3/'));
      const before = loaded(); m.openClusterStore('etcd://127.0.0.1:1').close();
      process.stdout.write(JSON.stringify([before, loaded()]));`;
    assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }), '[false,true]');
  });

  it('an unreachable cluster fails an operation within its deadline, in one line naming the endpoint', async function () {
    this.timeout(10000);
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const store = openClusterStore(`etcd://127.0.0.1:${port}`, { timeoutMs: 600 });
    try {
      const start = Date.now();
      await rejectsKind(store.get('k'), ErrorKind.Unavailable, `cluster store etcd://127.0.0.1:${port}: unavailable (connect ECONNREFUSED)`);
      assert.ok(Date.now() - start < 1500, `took ${Date.now() - start} ms`);
    } finally {
      await store.close();
    }
  });

  it('refuses a non-positive timeout', () => {
    assert.throws(() => openClusterStore('etcd://127.0.0.1:2379', { timeoutMs: 0 }), (err: unknown) =>
      err instanceof TsnetError && err.message === 'cluster store etcd://127.0.0.1:2379: timeout 0 ms must be positive');
  });
});
