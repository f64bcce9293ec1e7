/** Many tsnet processes at once: the store serializes allocations, so no address is handed out twice. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { Controller } from '../../../src/index';
import { CLI, tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';

/** Runs tsnet asynchronously, so many run at the same time. */
function tsnetAsync(...args: string[]): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ status: code ?? -1, stderr }));
  });
}

describe('parallel CLI processes', function () {
  this.timeout(120000);
  const run = process.pid.toString(36);
  const net = `par-${run}`;

  it('20 concurrent sandbox creates get 20 distinct addresses; 20 concurrent removals leave nothing', async () => {
    assert.equal(tsnet('ls', '-q').status, 0);
    const kernelBefore = await snapshot();
    const keysBefore = storeKeys();
    assert.equal(tsnet('create', '--subnet', '172.16.40.0/24', net).status, 0);
    const names = Array.from({ length: 20 }, (_, i) => `p${i}-${run}`);
    try {
      const created = await Promise.all(names.map((n) => tsnetAsync('sandbox', 'create', n, '--network', net)));
      assert.deepEqual(created.filter((r) => r.status !== 0).map((r) => r.stderr), []);
      const c = await Controller.open({ readOnly: true });
      try {
        const ips = (await c.networkEndpoints(net)).map((e) => e.ipv4);
        assert.equal(ips.length, 20);
        assert.equal(new Set(ips).size, 20);
      } finally {
        await c.close();
      }
      const removed = await Promise.all(names.map((n) => tsnetAsync('sandbox', 'rm', n)));
      assert.deepEqual(removed.filter((r) => r.status !== 0).map((r) => r.stderr), []);
    } finally {
      for (const n of names) tsnet('sandbox', 'rm', n);
      tsnet('rm', net);
    }
    assert.deepEqual(await snapshot(), kernelBefore);
    assert.deepEqual(storeKeys(), keysBefore);
  });
});
