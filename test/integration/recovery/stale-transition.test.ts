/**
 * A network left "creating" or "deleting" by a process that died (SIGKILL mid-command) is refused
 * to connects while its owner lives, and reaped by the next state-changing command once it is
 * gone: its bridge and rules removed, its name and subnet free again.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { bootId } from '../../../src/kernel/boot';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import type { Network } from '../../../src/model';
import { openSqliteStore } from '../../../src/store/sqlite';
import { keys } from '../../../src/store/store';
import { tsnet } from '../../helpers/cli';

const run = process.pid.toString(36);

/** Marks the network as if a process with this pid were in the middle of creating it. */
async function markCreating(name: string, pid: number): Promise<Network> {
  const store = openSqliteStore(process.env.TSNET_STATE_DIR!);
  try {
    return await store.txn(async (t) => {
      const id = (await t.get<string>(keys.networkName(name)))!;
      const net = (await t.get<Network>(keys.network(id)))!;
      t.put(keys.network(id), { ...net, transition: 'creating', transitionOwner: { pid, boot: bootId() } });
      return net;
    });
  } finally {
    await store.close();
  }
}

describe('networks a crashed process left half-made', function () {
  this.timeout(60000);
  const name = `stale-${run}`;
  after(() => {
    tsnet('sandbox', 'rm', `st-${run}`);
    tsnet('rm', name);
  });

  it('are refused to connects while their creator lives, and reaped once it is gone', async () => {
    assert.equal(tsnet('create', '--subnet', '172.28.60.0/24', name).status, 0);
    // Owned by this (live) test process: a connect is refused, nothing is reaped.
    const net = await markCreating(name, process.pid);
    const refused = tsnet('sandbox', 'create', `st-${run}`, '--network', name);
    assert.equal(refused.status, 4);
    assert.match(refused.stderr, /is being created/);
    assert.match(tsnet('ls').stdout, new RegExp(`\\b${name}\\b`));
    // Owned by a process that has exited: the next state-changing command reaps it.
    const dead = spawnSync('true').pid!;
    await markCreating(name, dead);
    assert.equal(tsnet('create', '--subnet', '172.28.62.0/24', `other-${run}`).status, 0);
    assert.doesNotMatch(tsnet('ls').stdout, new RegExp(`\\b${name}\\b`));
    const h = NetlinkHandle.open();
    try {
      assert.equal(await h.getLink(net.info.device!), undefined, 'its bridge is gone');
    } finally {
      h.close();
    }
    // Name and subnet are free again.
    assert.equal(tsnet('create', '--subnet', '172.28.60.0/24', name).status, 0);
    assert.equal(tsnet('rm', `other-${run}`).status, 0);
  });
});
