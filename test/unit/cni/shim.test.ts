/**
 * The exec shim (plugins/cni/shim/tsnet-cni.c) against a stand-in daemon and stand-in node scripts:
 * what it forwards, what it prints, when it falls back to node (with stdin intact) and when it
 * starts the daemon — once, however many shims find it missing at the same time.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileShim, defaultShimConfig } from '../../../plugins/cni/shim';
import { ACK, encodeReply, RequestReader, type WireRequest } from '../../../plugins/cni/wire';

/** Prints what the node plugin would have been given: argv, stdin, the variables that matter. */
const FAKE_PLUGIN = `
const chunks = [];
process.stdin.on('data', (d) => chunks.push(d)).on('end', () => {
  const e = process.env;
  process.stdout.write(JSON.stringify({ via: 'node', args: process.argv.slice(2), stdin: Buffer.concat(chunks).toString('base64'), stateDir: e.TSNET_STATE_DIR, command: e.CNI_COMMAND, secret: e.SECRET }));
  process.exit(3);
});
`;
/** Records its start and stays up (holding the shim's start lock) until killed, or 20 s as a safety net. */
const FAKE_CLI = `
require('fs').appendFileSync(process.env.STARTS, JSON.stringify({ pid: process.pid, args: process.argv.slice(2), stateDir: process.env.TSNET_STATE_DIR }) + '\\n');
process.stdout.write('fake daemon up\\n');
setTimeout(() => process.exit(0), 20000);
`;

interface Run { code: number; stdout: string; stderr: string }
type Behaviour = 'reply' | 'no-ack' | 'die-after-ack';

describe('cni exec shim', function () {
  this.timeout(30000);
  let tmp = '', stateDir = '', shim = '', starter = '', starts = '';
  const started: number[] = [];

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-shim-'));
    stateDir = path.join(tmp, 'state');
    fs.mkdirSync(stateDir);
    starts = path.join(tmp, 'starts');
    fs.writeFileSync(path.join(tmp, 'plugin.js'), FAKE_PLUGIN);
    fs.writeFileSync(path.join(tmp, 'cli.js'), FAKE_CLI);
    const config = defaultShimConfig({ plugin: path.join(tmp, 'plugin.js'), cli: path.join(tmp, 'cli.js'), stateDir, startDaemon: false });
    shim = path.join(tmp, 'shim');
    if (compileShim(shim, config) === 'no-compiler') this.skip();
    starter = path.join(tmp, 'shim-starting');
    compileShim(starter, { ...config, startDaemon: true });
  });

  after(() => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs file like a runtime: env (plus PATH), stdin, args. */
  function run(file: string, env: Record<string, string>, stdin: Buffer | string, args: string[] = []): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { env: { PATH: process.env.PATH, ...env } });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
  }

  /** A stand-in daemon on stateDir's cni.sock; resolves to its requests log and a closer. */
  async function standIn(behaviour: Behaviour, file = path.join(stateDir, 'cni.sock')): Promise<{ requests: WireRequest[]; connections: () => number; close(): Promise<void> }> {
    const requests: WireRequest[] = [];
    let connections = 0;
    const server = net.createServer((c) => {
      connections++;
      const reader = new RequestReader();
      c.on('error', () => undefined);
      c.on('data', (chunk) => {
        if (behaviour === 'no-ack') return void c.destroy();
        const req = reader.push(chunk);
        if (!req) return;
        requests.push(req);
        c.write(ACK);
        if (behaviour === 'die-after-ack') return void c.destroy();
        c.end(encodeReply({ code: 42, stdout: JSON.stringify({ via: 'daemon', env: req.env, stdin: req.stdin.toString('base64') }), stderr: 'from the daemon\n' }));
      });
    });
    await new Promise<void>((r) => server.listen(file, r));
    return { requests, connections: () => connections, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  const ENV = { TSNET_STATE_DIR: '', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '', TSNET_DEBUG: 'tsnet:cni', SECRET: 'not for the daemon' };
  const env = (over: Record<string, string> = {}) => ({ ...ENV, TSNET_STATE_DIR: stateDir, STARTS: starts, ...over });

  it('hands env and stdin to the daemon and prints its stdout, stderr and exit code', async () => {
    const d = await standIn('reply');
    try {
      const stdin = Buffer.concat([randomBytes(1 << 20), Buffer.from([0, 0, 10])]);
      const r = await run(shim, env(), stdin);
      assert.equal(r.code, 42);
      assert.equal(r.stderr, 'from the daemon\n');
      const out = JSON.parse(r.stdout);
      assert.equal(out.via, 'daemon');
      assert.ok(Buffer.from(out.stdin, 'base64').equals(stdin), 'stdin byte for byte');
      // Only what runCni reads crosses: the CNI_* variables (empty ones too) and TSNET_DEBUG.
      assert.deepEqual(out.env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '', TSNET_DEBUG: 'tsnet:cni' });
    } finally {
      await d.close();
    }
  });

  it('execs node with the untouched stdin and the baked state directory when no daemon listens', async () => {
    const r = await run(shim, { CNI_COMMAND: 'DEL', SECRET: 's' }, 'config');
    assert.equal(r.code, 3);
    assert.deepEqual(JSON.parse(r.stdout), { via: 'node', args: [], stdin: Buffer.from('config').toString('base64'), stateDir, command: 'DEL', secret: 's' });
    assert.equal(fs.existsSync(starts), false, 'this shim was built not to start the daemon');
  });

  it('falls back to node, replaying stdin, when the daemon hangs up before acking', async () => {
    const d = await standIn('no-ack');
    try {
      const r = await run(shim, env(), 'the config');
      assert.equal(r.code, 3);
      assert.equal(JSON.parse(r.stdout).stdin, Buffer.from('the config').toString('base64'));
      assert.equal(d.connections(), 1);
    } finally {
      await d.close();
    }
  });

  it('after an ack and no reply: ADD fails with code 11, any other command is run again by node', async () => {
    const d = await standIn('die-after-ack');
    try {
      const add = await run(shim, env(), '{}');
      assert.equal(add.code, 1);
      assert.equal(JSON.parse(add.stdout).code, 11);
      const del = await run(shim, env({ CNI_COMMAND: 'DEL' }), '{"x":1}');
      assert.equal(del.code, 3);
      assert.equal(JSON.parse(del.stdout).stdin, Buffer.from('{"x":1}').toString('base64'));
      assert.equal(d.requests.length, 2);
    } finally {
      await d.close();
    }
  });

  it('leaves the daemon alone for TSNET_CNI_DAEMON=0 and for arguments (install)', async () => {
    const d = await standIn('reply');
    try {
      assert.equal(JSON.parse((await run(shim, env({ TSNET_CNI_DAEMON: '0' }), '{}')).stdout).via, 'node');
      assert.deepEqual(JSON.parse((await run(shim, env(), '', ['install', '/x'])).stdout).args, ['install', '/x']);
      assert.equal(d.connections(), 0);
    } finally {
      await d.close();
    }
  });

  it('starts the daemon once for many shims that find none, and again once it is gone', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => run(starter, env(), '{}')));
    assert.deepEqual(results.map((r) => JSON.parse(r.stdout).via), Array(6).fill('node'), 'each command still ran, through node');
    const lines = async (n: number) => {
      for (let i = 0; i < 100 && (!fs.existsSync(starts) || fs.readFileSync(starts, 'utf8').trim().split('\n').length < n); i++) await new Promise((r) => setTimeout(r, 50));
      return fs.readFileSync(starts, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    };
    const first = await lines(1);
    started.push(...first.map((s) => s.pid));
    assert.deepEqual(first.map((s) => [s.args, s.stateDir]), [[['--state-dir', stateDir, 'daemon', '--no-docker-plugin'], stateDir]]);
    assert.match(fs.readFileSync(path.join(stateDir, 'daemon.log'), 'utf8'), /fake daemon up/);
    // Still starting (it holds the lock): no second start.
    await run(starter, env(), '{}');
    // A daemon whose control socket answers is running, lock or not.
    process.kill(first[0].pid, 'SIGKILL');
    const control = await standIn('reply', path.join(stateDir, 'daemon.sock'));
    await run(starter, env(), '{}');
    await control.close();
    assert.equal((await lines(1)).length, 1);
    // Gone, its lock with it: the next shim starts one again.
    await run(starter, env(), '{}');
    const second = await lines(2);
    started.push(second[1].pid);
    assert.equal(second.length, 2);
  });
});
