/**
 * The thin client (src/cli/shim/tsnet.c) against a stand-in daemon on cli.sock and a stand-in node
 * CLI: what it sends, what it prints, when it runs the command through node (no daemon, declined, a
 * read-only command the daemon died running) and when it must not (a change the daemon died running).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChunkReader } from '../../../plugins/shared/framing';
import { compileCliShim } from '../../../scripts/cli-shim';
import { type CliRequest, decodeCliRequest, encodeCliReply } from '../../../src/cli/wire';

/** Prints what the node CLI would have been given, and exits 3. */
const FAKE_CLI = `process.stdout.write(JSON.stringify({ via: 'node', args: process.argv.slice(2), secret: process.env.SECRET })); process.exit(3);`;
/** How the stand-in daemon answers a whole request. */
type Behaviour = 'read-only' | 'change' | 'decline' | 'die-after-R' | 'die-after-A' | 'big';
interface Run { code: number | null; stdout: string; stderr: string }

describe('cli thin client (shim)', function () {
  this.timeout(30000);
  let tmp = '', stateDir = '', shim = '';

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cli-shim-'));
    stateDir = path.join(tmp, 'state');
    fs.mkdirSync(stateDir);
    fs.writeFileSync(path.join(tmp, 'cli.js'), FAKE_CLI);
    shim = path.join(tmp, 'tsnet');
    if (compileCliShim(shim, { node: process.execPath, cli: path.join(tmp, 'cli.js'), stateDir }) === 'no-compiler') this.skip();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Runs the client as an administrator would, from tmp (file: bash, for a pipeline). */
  function run(args: string[], env: Record<string, string> = {}, file = shim): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { cwd: tmp, env: { PATH: process.env.PATH, ...env } });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** A stand-in daemon on dir/cli.sock, logging the requests it read. */
  async function standIn(behaviour: Behaviour, dir = stateDir): Promise<{ requests: CliRequest[]; close(): Promise<void> }> {
    const requests: CliRequest[] = [];
    const server = net.createServer((c) => {
      const reader = new ChunkReader(decodeCliRequest);
      c.on('error', () => undefined);
      c.on('data', (chunk) => {
        const req = reader.push(chunk);
        if (!req) return;
        requests.push(req);
        if (behaviour === 'decline') return void c.end();
        c.write(behaviour === 'read-only' || behaviour === 'die-after-R' ? 'R' : 'A');
        if (behaviour.startsWith('die')) return void c.destroy();
        const out = behaviour === 'big' ? Buffer.alloc(1 << 20, 'x') : Buffer.from(`out ${req.argv.join(' ')}\n`);
        c.end(encodeCliReply(298, out, Buffer.from('err from the daemon\n')));
      });
    });
    await new Promise<void>((r) => server.listen(path.join(dir, 'cli.sock'), r));
    return { requests, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  /** Runs body with a stand-in daemon, closing it after. */
  async function withStandIn<T>(behaviour: Behaviour, body: (d: { requests: CliRequest[] }) => Promise<T>): Promise<T> {
    const d = await standIn(behaviour);
    try {
      return await body(d);
    } finally {
      await d.close();
    }
  }

  it('hands argv, cwd and the TSNET_/DEBUG variables with its namespaces to the daemon and prints its reply', () => withStandIn('read-only', async (d) => {
    const r = await run(['ls', '', 'ünï'], { TSNET_DEBUG: '', DEBUG: 'x=y', SECRET: 's', DEBUGGER: 'no' });
    assert.deepEqual(r, { code: 298 & 255, stdout: 'out ls  ünï\n', stderr: 'err from the daemon\n' });
    const ns = (kind: string) => String(fs.statSync(`/proc/self/ns/${kind}`).ino);
    assert.deepEqual(d.requests, [{ argv: ['ls', '', 'ünï'], cwd: fs.realpathSync(tmp), env: { TSNET_DEBUG: '', DEBUG: 'x=y', TSNET_CLIENT_NETNS: ns('net'), TSNET_CLIENT_MNTNS: ns('mnt') } }]);
  }));

  it('runs the command through node when no daemon listens, when the daemon declines, and for TSNET_CLI_DAEMON=0', async () => {
    const args = Array.from({ length: 100 }, (_, i) => `a${i}`);
    assert.deepEqual(await run(args, { SECRET: 's' }), { code: 3, stdout: JSON.stringify({ via: 'node', args, secret: 's' }), stderr: '' });
    await withStandIn('decline', async (d) => {
      assert.equal(JSON.parse((await run(['create', 'n'])).stdout).via, 'node');
      assert.equal(d.requests.length, 1);
    });
    await withStandIn('change', async (d) => {
      assert.equal(JSON.parse((await run(['ls'], { TSNET_CLI_DAEMON: '0' })).stdout).via, 'node');
      assert.equal(d.requests.length, 0);
    });
  });

  it('finds the socket in the state directory --state-dir or TSNET_STATE_DIR names', async () => {
    const other = fs.mkdtempSync(path.join(tmp, 'other-'));
    const d = await standIn('change', other);
    try {
      assert.equal((await run(['--state-dir', other, 'ls'])).code, 298 & 255);
      assert.equal((await run([`--state-dir=${other}`, 'ls'])).code, 298 & 255);
      assert.equal((await run(['ls'], { TSNET_STATE_DIR: other })).code, 298 & 255);
      assert.equal((await run(['ls', '--', '--state-dir', other])).code, 3, 'after "--" it is an argument');
      assert.equal(d.requests.length, 3);
    } finally {
      await d.close();
    }
  });

  it('after an ack and no reply: runs a read-only command again through node, never a change', async () => {
    await withStandIn('die-after-R', async () => {
      assert.deepEqual(JSON.parse((await run(['ls'])).stdout).args, ['ls']);
    });
    await withStandIn('die-after-A', async () => {
      assert.deepEqual(await run(['rm', 'n']), {
        code: 1, stdout: '',
        stderr: 'tsnet: the tsnet daemon stopped while running this command: it may or may not have taken effect (check with tsnet ls / tsnet sandbox ls)\n',
      });
    });
  });

  it('ends quietly when its reader closes early: the reply\'s stderr and status all the same', () => withStandIn('big', async () => {
    // The stand-in runs in this process: the pipeline must not block it (no spawnSync).
    const r = await run(['--norc', '-c', `"${shim}" ls | head -c 1 >/dev/null; echo "status \${PIPESTATUS[0]}"`], {}, 'bash');
    assert.deepEqual(r, { code: 0, stdout: `status ${298 & 255}\n`, stderr: 'err from the daemon\n' });
  }));
});
