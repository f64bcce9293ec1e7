import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createIpam, ipamKeys } from '../../../src/ipam/allocator';
import { poolReq, tempStore, type TempStore } from './helpers';

const CHILDREN = 4;
const PER_CHILD = 50;

interface ChildResult { ips: string[]; error?: string }

/** Forks one allocator child and resolves once it reports ready, with a promise of its result. */
function spawnChild(dir: string, poolId: string, n: number): Promise<{ child: ChildProcess; result: Promise<ChildResult> }> {
  const child = fork(path.join(__dirname, 'alloc-child.js'), [dir, poolId, `c${n}`, String(PER_CHILD)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.on('message', (m: ChildResult & { ready?: boolean }) => { if (!m.ready) resolve(m); });
    child.on('exit', (code) => reject(new Error(`child ${n} exited with ${code} before reporting`)));
    child.on('error', reject);
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve({ child, result }));
    child.once('error', reject);
  });
}

describe('ipam across processes', function () {
  this.timeout(60000);
  let ts: TempStore;
  beforeEach(() => { ts = tempStore(); });
  afterEach(() => ts.dispose());

  it(`${CHILDREN} processes allocating ${PER_CHILD} each from one pool get distinct addresses`, async () => {
    const ipam = createIpam();
    const pool = ts.store.txn((t) => ipam.requestPool(t, poolReq({ subnet: '10.7.0.0/16' }), []));
    const children = await Promise.all(Array.from({ length: CHILDREN }, (_, n) => spawnChild(ts.dir, pool.poolId, n)));
    // Release them together only when all are ready, so their transactions really interleave.
    children.forEach(({ child }) => child.send('go'));
    const results = await Promise.all(children.map((c) => c.result));
    for (const r of results) assert.equal(r.error, undefined);
    const all = results.flatMap((r) => r.ips);
    assert.equal(all.length, CHILDREN * PER_CHILD);
    assert.equal(new Set(all).size, CHILDREN * PER_CHILD, 'an address was handed out twice');
    const stored = ts.store.list<{ kind: string }>(ipamKeys.addrs(pool.poolId)).filter((e) => e.value.kind === 'endpoint');
    assert.equal(stored.length, CHILDREN * PER_CHILD);
    // The pool stays dense: no address lost between processes, none beyond the first 200 hosts.
    assert.ok(all.every((ip) => /^10\.7\.0\.\d+\/16$/.test(ip)), all.find((ip) => !/^10\.7\.0\./.test(ip)));
  });
});
