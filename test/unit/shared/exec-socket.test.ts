/**
 * The exec sockets (CNI, netavark, CLI) over a test face: the limiter (at most `limit` at once, the
 * rest in arrival order, a failure frees its slot), acks and declines, malformed and slow requests
 * dropped unacked, close().
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { limiter, serveExecSocket } from '../../../plugins/shared/exec-socket';
import { ChunkReader, encodeExecReply, frame, readFields, type RequestShape } from '../../../plugins/shared/framing';

const tick = () => new Promise((r) => setImmediate(r));

describe('exec socket limiter', () => {
  it('runs at most limit tasks at once and starts the others in arrival order', async () => {
    const inTurn = limiter(2);
    const started: (number | string)[] = [];
    const release: (() => void)[] = [];
    let peak = 0, active = 0;
    const all = Array.from({ length: 6 }, (_, i) => inTurn(async () => {
      started.push(i);
      peak = Math.max(peak, ++active);
      await new Promise<void>((r) => release.push(r));
      active--;
      return i;
    }));
    await tick();
    assert.deepEqual(started.slice(), [0, 1]);
    release.shift()!();
    await tick();
    await tick();
    assert.deepEqual(started.slice(), [0, 1, 2]);
    const late = inTurn(async () => {
      started.push('late');
      return 'late';
    });
    while (release.length) {
      release.shift()!();
      await tick();
      await tick();
    }
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5]);
    assert.equal(await late, 'late');
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 'late'], 'the newcomer did not overtake the ones waiting');
    assert.equal(peak, 2);
  });

  it('frees the slot of a task that fails', async () => {
    const inTurn = limiter(1);
    await assert.rejects(inTurn(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await inTurn(async () => 'next'), 'next');
  });
});

/** What a client of the socket saw: the bytes the daemon sent before closing. */
function call(socketPath: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath, () => c.write(request));
    const got: Buffer[] = [];
    c.on('data', (d) => got.push(d));
    c.on('error', reject);
    c.on('close', () => resolve(Buffer.concat(got)));
  });
}

/** A request of the test face: "T" | u32 n | name. */
const SHAPE: RequestShape = { magic: Buffer.from('T'), what: 'test', fields: [{ name: 'name', max: 64 }] };
const request = (name: string) => frame(Buffer.from('T'), [Buffer.from(name)]);

describe('exec socket', () => {
  let tmp = '';
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-exec-socket-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A socket of the test face: declines "no", acks "R" for names starting with "r", "A" else; serve waits for its release. */
  async function face(opts: { limit: number; requestTimeoutMs?: number }) {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const log: string[] = [];
    const socket = await serveExecSocket<string>({
      socketPath: path.join(tmp, 'test.sock'), ...opts, debug: (l) => log.push(l),
      reader: () => new ChunkReader((buf) => readFields(buf, SHAPE)?.[0].toString()),
      accept: (name) => (name === 'no' ? undefined : Buffer.from(name.startsWith('r') ? 'R' : 'A')),
      serve: async (name) => {
        started.push(name);
        await new Promise<void>((r) => release.set(name, r));
        return encodeExecReply(7, Buffer.from(`out ${name}`), Buffer.from(`err ${name}`));
      },
    });
    return { socket, started, release, log };
  }

  /** Waits until cond holds (the socket runs on this event loop). */
  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), 'timed out');
  }

  it('acks with the face\'s ack, then sends the reply; the socket is mode 0600', async () => {
    const f = await face({ limit: 4 });
    try {
      assert.equal(fs.statSync(f.socket.socketPath).mode & 0o777, 0o600);
      const a = call(f.socket.socketPath, request('ra'));
      await until(() => f.release.has('ra'));
      f.release.get('ra')!();
      assert.deepEqual(await a, Buffer.concat([Buffer.from('R'), encodeExecReply(7, Buffer.from('out ra'), Buffer.from('err ra'))]));
    } finally {
      await f.socket.close();
    }
  });

  it('closes a declined request without an ack and never serves it', async () => {
    const f = await face({ limit: 4 });
    try {
      assert.equal((await call(f.socket.socketPath, request('no'))).length, 0);
      assert.deepEqual(f.started, []);
    } finally {
      await f.socket.close();
    }
  });

  it('drops a malformed request unacked', async () => {
    const f = await face({ limit: 4 });
    try {
      assert.equal((await call(f.socket.socketPath, Buffer.from('GET / HTTP/1.1\r\n'))).length, 0);
      assert.equal((await call(f.socket.socketPath, Buffer.concat([request('x'), Buffer.from('!')]))).length, 0);
      assert.deepEqual(f.started, []);
      assert.ok(f.log.some((l) => /bad magic/.test(l)) && f.log.some((l) => /after the request/.test(l)), f.log.join('\n'));
    } finally {
      await f.socket.close();
    }
  });

  it('drops a client that does not finish its request in time', async () => {
    const f = await face({ limit: 4, requestTimeoutMs: 100 });
    try {
      const t0 = Date.now();
      // Half a request: the field's length says 4 bytes, none follow.
      assert.equal((await call(f.socket.socketPath, Buffer.from([0x54, 0, 0, 0, 4]))).length, 0);
      assert.ok(Date.now() - t0 < 5000);
      assert.deepEqual(f.started, []);
    } finally {
      await f.socket.close();
    }
  });

  it('acks every request at once but runs at most limit, the rest in arrival order', async () => {
    const f = await face({ limit: 2 });
    const acks: string[] = [];
    const replies: Promise<Buffer>[] = [];
    try {
      for (const name of ['a1', 'a2', 'a3', 'a4']) {
        replies.push(new Promise((resolve, reject) => {
          const c = net.connect(f.socket.socketPath, () => c.write(request(name)));
          const got: Buffer[] = [];
          c.on('data', (d) => {
            if (!got.length) acks.push(name);
            got.push(d);
          });
          c.on('error', reject);
          c.on('close', () => resolve(Buffer.concat(got)));
        }));
        await until(() => acks.includes(name));
      }
      await until(() => f.started.length === 2);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(f.started, ['a1', 'a2'], 'the other two wait, acked');
      f.release.get('a2')!();
      await until(() => f.started.length === 3);
      assert.deepEqual(f.started, ['a1', 'a2', 'a3']);
      f.release.get('a1')!();
      await until(() => f.started.length === 4);
      f.release.get('a3')!();
      f.release.get('a4')!();
      const got = await Promise.all(replies);
      for (const [i, r] of got.entries()) assert.deepEqual(r, Buffer.concat([Buffer.from('A'), encodeExecReply(7, Buffer.from(`out a${i + 1}`), Buffer.from(`err a${i + 1}`))]));
    } finally {
      await f.socket.close();
    }
  });

  it('close() drops clients still sending, lets acked calls answer, and removes the socket', async () => {
    const f = await face({ limit: 1 });
    const partial = net.connect(f.socket.socketPath, () => partial.write(Buffer.from('T')));
    const partialClosed = new Promise<void>((r) => partial.on('close', () => r()));
    partial.on('error', () => undefined);
    const acked = call(f.socket.socketPath, request('busy'));
    await until(() => f.release.has('busy'));
    const closing = f.socket.close();
    await partialClosed;
    f.release.get('busy')!();
    await closing;
    assert.equal((await acked).subarray(0, 1).toString(), 'A');
    assert.equal(fs.existsSync(f.socket.socketPath), false);
  });
});
