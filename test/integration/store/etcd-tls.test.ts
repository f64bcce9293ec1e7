/** The cluster store over TLS with client certificates (Docker's kv.cacertfile, kv.certfile, kv.keyfile). */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorKind, TsnetError } from '../../../src/errors';
import { openClusterStore } from '../../../src/store/etcd';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../../helpers/etcd';

/** A CA and a certificate it signs for 127.0.0.1, usable by server and client; files in dir. */
function makeCerts(dir: string, name: string): { ca: string; cert: string; key: string } {
  const f = (ext: string) => path.join(dir, `${name}.${ext}`);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', `/CN=${name}-ca`);
  ssl('req', ...ec, '-keyout', f('key'), '-out', f('csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  ssl('x509', '-req', '-in', f('csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('pem'), '-days', '1', '-extfile', f('ext'));
  return { ca: f('ca.pem'), cert: f('pem'), key: f('key') };
}

describe('etcd backend over TLS', function () {
  this.timeout(60000);
  let dir: string;
  let good: { ca: string; cert: string; key: string };
  let server: EtcdServer;
  before(async function () {
    skipWithoutEtcd(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-etcd-tls-'));
    good = makeCerts(dir, 'good');
    server = await startEtcd({ tls: good });
  });
  after(async () => {
    await server?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('works with the CA, certificate and key given as kv.* options', async () => {
    const store = openClusterStore(server.url('tls'), { options: { 'kv.cacertfile': good.ca, 'kv.certfile': good.cert, 'kv.keyfile': good.key } });
    try {
      await store.txn(async (t) => t.put('secure', { ok: true }));
      assert.deepEqual(await store.get('secure'), { ok: true });
    } finally {
      await store.close();
    }
  });

  const refused: [string, () => Record<string, string>][] = [
    ['without a client certificate', () => ({ 'kv.cacertfile': good.ca })],
    ['trusting another CA', () => { const other = makeCerts(dir, 'other'); return { 'kv.cacertfile': other.ca, 'kv.certfile': good.cert, 'kv.keyfile': good.key }; }],
  ];
  for (const [name, options] of refused) {
    it(`is refused ${name}, as one Unavailable line naming the endpoint`, async () => {
      const store = openClusterStore(server.url('tls'), { options: options(), timeoutMs: 1500 });
      try {
        const err = await store.get('secure').then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof TsnetError && err.kind === ErrorKind.Unavailable, String(err));
        assert.ok(err.message.startsWith(`cluster store etcd://${server.endpoint}: unavailable (`), err.message);
        assert.doesNotMatch(err.message, /\n/);
      } finally {
        await store.close();
      }
    });
  }
});
