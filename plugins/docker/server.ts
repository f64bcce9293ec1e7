/** The plugin's HTTP server on a unix socket: root-only, one stale socket file replaced, bodies size-limited. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { ConflictError, ERROR_CODES, ErrorKind } from '../../src/index';
import { CONTENT_TYPE, MAX_BODY_BYTES } from './constants';
import { handlePluginRequest, type PluginResponse, type Routes } from './protocol';

/** Whether something answers on the unix socket at file. */
function socketAnswers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(file);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/** Removes a socket file left by a plugin that died; refuses when a live one still serves it. */
async function claimSocket(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  if (!fs.existsSync(file)) return;
  if (await socketAnswers(file)) throw new ConflictError(`docker plugin socket ${file}: another process serves it`);
  fs.rmSync(file, { force: true });
}

/** Reads the request body up to MAX_BODY_BYTES; undefined when it is larger. */
function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, answer: PluginResponse): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A running server; close() stops it and removes the socket file. */
export interface PluginServer {
  close(): Promise<void>;
}

/** Serves routes on the unix socket at socketPath, mode 0600. */
export async function serveRoutes(routes: Routes, socketPath: string): Promise<PluginServer> {
  await claimSocket(socketPath);
  const server = http.createServer((req, res) => {
    readBody(req).then(
      async (raw) => send(res, raw === undefined
        ? { status: ERROR_CODES[ErrorKind.InvalidArgument].http, body: { Err: `request body larger than ${MAX_BODY_BYTES} bytes` } }
        : await handlePluginRequest(routes, req.method ?? '', req.url ?? '', raw)),
      () => res.destroy(),
    );
  });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => { server.off('error', reject); resolve(); });
  });
  // listen() binds synchronously, so the socket is born 0600 and the umask is back before anything else runs.
  const umask = process.umask(0o177);
  try {
    server.listen(socketPath);
  } finally {
    process.umask(umask);
  }
  await listening;
  fs.chmodSync(socketPath, 0o600);
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      fs.rmSync(socketPath, { force: true });
    }),
  };
}
