/**
 * CLI fidelity: output into a closed pipe ends quietly with status 0 (and the command still finishes
 * its work); `-p '[::1]:8080:80'` is refused in one line and leaves nothing behind (publishing on IPv6
 * loopback needs the userland proxy tsnet does not run). NetworkMode as asked: cli.test.ts and format.test.ts.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { CLI, tsnet } from '../../helpers/cli';

const run = process.pid.toString(36);

/** Runs a bash pipeline with `tsnet` defined; returns its stdout and stderr. */
function sh(script: string): { stdout: string; stderr: string; status: number } {
  const r = spawnSync('bash', ['-c', `tsnet() { ${process.execPath} ${CLI} "$@"; }\n${script}`], { encoding: 'utf8', timeout: 60_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

describe('cli fidelity', function () {
  this.timeout(120_000);
  const nets = Array.from({ length: 3 }, (_x, i) => `pipe${i}-${run}`);
  before(() => {
    for (const [i, n] of nets.entries()) assert.equal(tsnet('create', '--subnet', `172.22.${40 + i}.0/24`, n).status, 0);
  });
  after(() => {
    tsnet('rm', ...nets);
  });

  it('ends quietly with status 0 when the reader closed the pipe (tsnet ls | true, | head -1)', () => {
    // `true` exits before tsnet has written: every write finds the pipe closed (EPIPE).
    const r = sh('for i in 1 2 3; do tsnet ls | true; echo "ls:${PIPESTATUS[0]}"; done\n' +
      'tsnet ls --format \'{{range $i, $x := split "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z" ","}}{{printf "%4096s" $x}}{{end}}\' | head -c 10 >/dev/null; echo "big:${PIPESTATUS[0]}"\n' +
      'tsnet inspect bridge | head -1 >/dev/null; echo "inspect:${PIPESTATUS[0]}"\n' +
      'tsnet sandbox ls | true; echo "sandbox:${PIPESTATUS[0]}"');
    assert.equal(r.stderr, '');
    assert.deepEqual(r.stdout.trim().split('\n'), ['ls:0', 'ls:0', 'ls:0', 'big:0', 'inspect:0', 'sandbox:0']);
  });

  it('still finishes a state-changing command whose output nobody reads', () => {
    const r = sh(`tsnet rm ${nets[1]} ${nets[2]} | true; echo "rm:\${PIPESTATUS[0]}"`);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'rm:0\n');
    assert.equal(tsnet('inspect', nets[1]).status, 3);
    assert.equal(tsnet('inspect', nets[2]).status, 3);
  });

  it('reports a failing command\'s status and error even when stdout is closed', () => {
    const r = sh(`tsnet inspect nonexistent-${run} | true; echo "status:\${PIPESTATUS[0]}"`);
    assert.equal(r.stdout, 'status:3\n');
    assert.match(r.stderr, /^tsnet: .*nonexistent-/);
  });

  it("refuses -p '[::1]:8080:80' in one line (no userland proxy) and leaves nothing behind", () => {
    const v6 = `v6pub-${run}`;
    assert.equal(tsnet('create', '--ipv6', '--subnet', '172.22.50.0/24', '--subnet', 'fd00:22:50::/64', v6).status, 0);
    try {
      const before = fs.readdirSync('/run/netns').sort();
      const r = tsnet('sandbox', 'create', `w6-${run}`, '--network', v6, '-p', '[::1]:8080:80');
      assert.equal(r.status, 6);
      assert.equal(r.stderr, 'tsnet: host address ::1: publishing on IPv6 loopback needs a userland proxy\n');
      assert.equal(tsnet('sandbox', 'inspect', `w6-${run}`).status, 3);
      assert.deepEqual(fs.readdirSync('/run/netns').sort(), before);
      const [view] = JSON.parse(tsnet('inspect', v6).stdout);
      assert.deepEqual(view.Containers, {});
      // The forms the README lists for IPv6 are accepted: all addresses and a literal address of the host.
      const ok = tsnet('sandbox', 'create', `w6b-${run}`, '--network', v6, '-p', '[::]:8081:80');
      assert.equal(ok.status, 0, ok.stderr);
      assert.deepEqual(tsnet('port', `w6b-${run}`).stdout.split('\n').filter(Boolean), ['80/tcp -> [::]:8081']);
    } finally {
      tsnet('sandbox', 'rm', `w6b-${run}`);
      tsnet('rm', v6);
    }
  });
});
