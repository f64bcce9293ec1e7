/** The unix socket server: root-only socket, Docker's media type, a stale socket replaced, a live one left alone. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { bodyless, type Routes } from '../../../plugins/docker/protocol';
import { serveRoutes, type PluginServer } from '../../../plugins/docker/server';

const ROUTES: Routes = { '/Plugin.Activate': bodyless(() => ({ Implements: ['NetworkDriver'] })) };

/** POSTs body to path over the socket. */
function post(socketPath: string, urlPath: string, body: string): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('docker plugin: socket server', () => {
  let dir: string;
  let socket: string;
  let server: PluginServer | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-docker-sock-'));
    socket = path.join(dir, 'plugins', 'tsnet.sock');
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves on a 0600 socket with Docker\'s plugin media type', async () => {
    server = await serveRoutes(ROUTES, socket);
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    const res = await post(socket, '/Plugin.Activate', '');
    assert.deepEqual(res, { status: 200, type: 'application/vnd.docker.plugins.v1.2+json', json: { Implements: ['NetworkDriver'] } });
  });

  it('answers an oversized body with 400 and keeps serving', async () => {
    server = await serveRoutes(ROUTES, socket);
    const big = await post(socket, '/Plugin.Activate', 'x'.repeat((1 << 20) + 1));
    assert.equal(big.status, 400);
    assert.match(String(big.json.Err), /larger than/);
    assert.equal((await post(socket, '/Plugin.Activate', 'null')).status, 200);
  });

  it('replaces the socket file a dead plugin left, and removes it on close', async () => {
    fs.mkdirSync(path.dirname(socket), { recursive: true });
    fs.writeFileSync(socket, '');
    server = await serveRoutes(ROUTES, socket);
    assert.equal((await post(socket, '/Plugin.Activate', '')).status, 200);
    await server.close();
    server = undefined;
    assert.equal(fs.existsSync(socket), false);
  });

  it('refuses to take over a socket another plugin still serves', async () => {
    server = await serveRoutes(ROUTES, socket);
    await assert.rejects(serveRoutes(ROUTES, socket), /another process serves it/);
    assert.equal((await post(socket, '/Plugin.Activate', '')).status, 200);
  });

  it('leaves the process umask as it found it', async () => {
    const before = process.umask(0o022);
    try {
      server = await serveRoutes(ROUTES, socket);
      assert.equal(process.umask(0o022), 0o022);
    } finally {
      process.umask(before);
    }
  });
});
