/**
 * The daemon's process layout: a supervisor runs the resolver and the other resident services as
 * two processes and restarts either at once. Killing the resolver with SIGKILL leaves sandboxes
 * without DNS for well under a second, with no tsnet command run meanwhile; killing the services
 * process leaves DNS untouched.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { tsnet } from '../../helpers/cli';

const run = process.pid.toString(36);
const stateDir = process.env.TSNET_STATE_DIR!;

/** The pid of the daemon child of this state directory running role, or undefined. */
function childPid(role: string): number | undefined {
  const r = spawnSync('pgrep', ['-f', '--', `--state-dir ${stateDir} daemon --role ${role}`], { encoding: 'utf8' });
  const pids = r.stdout.trim().split('\n').filter(Boolean).map(Number);
  return pids[0];
}

/** Queries name from inside the sandbox's namespace every 20 ms for ms; returns the longest run without an answer. */
async function longestGap(netns: string, name: string, ms: number, during: () => void): Promise<{ gap: number; answered: number }> {
  const q = promisify(execFile);
  const end = Date.now() + ms;
  let last = Date.now();
  let gap = 0;
  let answered = 0;
  let fired = false;
  while (Date.now() < end) {
    if (!fired && Date.now() > end - ms + 500) {
      fired = true;
      during();
    }
    const ok = await q('nsenter', [`--net=${netns}`, '--', 'dig', '+short', '+tries=1', '+time=1', '@127.0.0.11', name]).then((r) => r.stdout.trim() !== '', () => false);
    const now = Date.now();
    if (ok) {
      gap = Math.max(gap, now - last);
      last = now;
      answered++;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { gap: Math.max(gap, Date.now() - last), answered };
}

describe('daemon supervisor (private host)', function () {
  this.timeout(60000);
  const net = `sv-${run}`;
  after(() => {
    tsnet('sandbox', 'rm', `sva-${run}`, `svb-${run}`);
    tsnet('rm', net);
  });

  it('runs the resolver and the services as two processes under one pid file', () => {
    assert.equal(tsnet('create', '--subnet', '172.28.40.0/24', net).status, 0);
    const a = tsnet('sandbox', 'create', `sva-${run}`, '--network', net);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(tsnet('sandbox', 'create', `svb-${run}`, '--network', net).status, 0);
    const supervisor = Number(fs.readFileSync(path.join(stateDir, 'daemon.pid'), 'utf8'));
    const resolver = childPid('resolver');
    const services = childPid('services');
    assert.ok(resolver && services, 'both children run');
    assert.equal(Number(fs.readFileSync(`/proc/${resolver}/stat`, 'utf8').split(' ')[3]), supervisor);
  });

  it('a resolver killed with SIGKILL is back within 1 s, with no command run meanwhile', async () => {
    const sb = JSON.parse(tsnet('sandbox', 'inspect', `sva-${run}`).stdout)[0];
    const before = childPid('resolver')!;
    const { gap, answered } = await longestGap(sb.NetworkSettings.SandboxKey, `svb-${run}`, 4000, () => process.kill(before, 'SIGKILL'));
    assert.ok(answered > 10, `answers: ${answered}`);
    assert.ok(gap < 1000, `no answer for ${gap} ms`);
    const after = childPid('resolver');
    assert.ok(after && after !== before, 'a new resolver runs');
  });

  it('killing the services process leaves name resolution untouched, and it is restarted', async () => {
    const sb = JSON.parse(tsnet('sandbox', 'inspect', `sva-${run}`).stdout)[0];
    const before = childPid('services')!;
    const { gap } = await longestGap(sb.NetworkSettings.SandboxKey, `svb-${run}`, 3000, () => process.kill(before, 'SIGKILL'));
    assert.ok(gap < 500, `no answer for ${gap} ms`);
    await new Promise((r) => setTimeout(r, 1500));
    const after = childPid('services');
    assert.ok(after && after !== before, 'the services process was restarted');
  });
});
