/** The lock file: callers queue, a dead holder's lock is taken over, a live one is waited for. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withFileLock as withLock } from '../../../src/kernel/lock';

describe('kernel/lock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-lock-'));
    file = path.join(dir, 'sub', 'firewall.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs in-process callers one at a time and releases after a failure', async () => {
    const events: string[] = [];
    const job = (name: string, fail = false) => withLock(file, async () => {
      events.push(`${name} start`);
      await new Promise((r) => setTimeout(r, 5));
      events.push(`${name} end`);
      if (fail) throw new Error(name);
    });
    await Promise.all([job('a'), job('b', true).catch(() => undefined), job('c')]);
    assert.deepEqual(events, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    assert.ok(!fs.existsSync(file));
  });

  it('takes over a lock whose holder died', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '999999999');
    assert.equal(await withLock(file, async () => fs.readFileSync(file, 'utf8')), String(process.pid));
  });

  it('waits for a live holder and gives up after the timeout', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, String(process.ppid));
    await assert.rejects(withLock(file, async () => 1, 50), /still held after 50 ms/);
    setTimeout(() => fs.rmSync(file, { force: true }), 30);
    assert.equal(await withLock(file, async () => 2, 2000), 2);
  });

  it('lets a holder of one lock take another (queues are per file)', async () => {
    const other = path.join(dir, 'other.lock');
    const got = await withLock(file, () => withLock(other, async () => 'both'), 2000);
    assert.equal(got, 'both');
  });
});
