/**
 * Rules flushed from outside come back: after `nft flush ruleset` the daemon re-applies tsnet's rules
 * within 5 s with no command run, a state-changing command re-applies them at once, and `tsnet system
 * gc` does on demand and says what it fixed. A published port works again each time.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { tsnet } from '../../helpers/cli';

const run = process.pid.toString(36);
const hasTable = () => {
  try {
    execFileSync('nft', ['list', 'table', 'inet', 'tsnet'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const dnatFor = (port: number) => execFileSync('nft', ['list', 'ruleset']).toString().includes(`${port}`);

async function within(ms: number, check: () => boolean): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

describe('firewall rules flushed from outside (nftables backend)', function () {
  this.timeout(60000);
  const net = `fw-${run}`;
  before(function () {
    if (process.env.TSNET_FIREWALL_BACKEND === 'iptables') this.skip();
  });
  after(() => {
    tsnet('sandbox', 'rm', `fwa-${run}`);
    tsnet('rm', net);
  });

  it('the running daemon re-applies them within 5 s, with the published port', async () => {
    assert.equal(tsnet('create', '--subnet', '172.28.50.0/24', net).status, 0);
    const r = tsnet('sandbox', 'create', `fwa-${run}`, '--network', net, '-p', '18181:80');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(hasTable() && dnatFor(18181));
    execFileSync('nft', ['flush', 'ruleset']);
    assert.ok(!hasTable());
    const took = await within(5000, () => hasTable() && dnatFor(18181));
    assert.ok(took <= 5000);
  });

  it('tsnet system gc re-applies on demand and reports the network', async () => {
    // Stop the daemon, so only the command can repair.
    execFileSync('sh', ['-c', `kill $(cat ${process.env.TSNET_STATE_DIR}/daemon.pid); sleep 1`]);
    execFileSync('nft', ['flush', 'ruleset']);
    const gc = tsnet('system', 'gc', '--format', 'json');
    assert.equal(gc.status, 0, gc.stderr);
    assert.ok((JSON.parse(gc.stdout) as { firewallReapplied: string[] }).firewallReapplied.includes(net));
    assert.ok(hasTable() && dnatFor(18181));
  });
});
