/**
 * The thin client (build/src/cli/tsnet) with `tsnet daemon` running: the same bytes, statuses and
 * effects as the node CLI; declined commands run directly; a change the daemon died running is
 * never run again.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILT_CLI_SHIM, compileCliShim } from '../../../scripts/cli-shim';
import { CLI } from '../../helpers/cli';

const PRIVATE_HOST = path.join(__dirname, '..', '..', 'helpers', 'private-host.js');

/** Runs a bash script in a fresh nested private host with `tsnet` (the thin client), `direct` (node) and `daemonpath` (a client with no fallback). */
function inFreshHost(script: string, daemonOnly: string): { status: number; out: string; err: string } {
  const prelude = `tsnet() { ${BUILT_CLI_SHIM} "$@"; }\ndirect() { TSNET_CLI_DAEMON=0 ${BUILT_CLI_SHIM} "$@"; }\ndaemonpath() { ${daemonOnly} "$@"; }\n`
    + `${process.execPath} ${CLI} ls -q >/dev/null\n${process.execPath} ${CLI} daemon --role all --no-docker-plugin 2>"$TSNET_STATE_DIR/daemon.err" & d=$!\n`
    + 'while [ ! -S "$TSNET_STATE_DIR/cli.sock" ]; do kill -0 $d || exit 99; sleep 0.1; done\n';
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TSNET_PRIVATE_HOST;
  delete env.TSNET_STATE_DIR;
  const r = spawnSync(process.execPath, [PRIVATE_HOST, 'bash', '-c', `${prelude}${script}\nkill -TERM $d 2>/dev/null; wait $d 2>/dev/null; true`], { encoding: 'utf8', env, timeout: 240000 });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('CLI: thin client and daemon', function () {
  this.timeout(300000);
  let dir: string;
  let daemonOnly: string;
  before(function () {
    if (!fs.existsSync(BUILT_CLI_SHIM)) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-thin-'));
    // A client whose fallback is /bin/false: what it prints came from the daemon; a declined command exits 1, silent.
    daemonOnly = path.join(dir, 'tsnet-daemon-only');
    assert.equal(compileCliShim(daemonOnly, { node: '/bin/false', cli: CLI, stateDir: '/var/lib/tsnet' }), 'built');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the same stdout, stderr and status as the node CLI, served by the daemon', () => {
    const cases = [
      'ls', 'ls -q --no-trunc', 'ls --format json', 'ls --filter bogus=1', 'inspect bridge', 'inspect -f "{{.Name}} {{.IPAM.Config}}" bridge none', 'inspect nosuch', 'bogus',
      '--help', 'network --help', 'create --help', 'sandbox ls', 'create --subnet 10.300.0.0/16 bad', 'connect nosuch nosuch', 'port nosuch', 'create --scope galaxy x',
    ];
    const script = cases.map((c, i) => `for how in tsnet direct daemonpath; do $how ${c} >"$TSNET_STATE_DIR/$how.${i}.out" 2>"$TSNET_STATE_DIR/$how.${i}.err"; echo "$how ${i} $?"; done
      cmp -s "$TSNET_STATE_DIR/tsnet.${i}.out" "$TSNET_STATE_DIR/direct.${i}.out" && cmp -s "$TSNET_STATE_DIR/tsnet.${i}.err" "$TSNET_STATE_DIR/direct.${i}.err" && cmp -s "$TSNET_STATE_DIR/tsnet.${i}.out" "$TSNET_STATE_DIR/daemonpath.${i}.out" && echo "same ${i}" || { echo "differs ${i}"; head -c 600 "$TSNET_STATE_DIR"/*."${i}".*; }`).join('\n');
    const r = inFreshHost(script, daemonOnly);
    assert.equal(r.status, 0, r.out + r.err);
    const lines = r.out.trim().split('\n');
    for (const [i, c] of cases.entries()) {
      assert.ok(lines.includes(`same ${i}`), `tsnet ${c}: ${r.out}`);
      const status = (how: string) => lines.find((l) => l.startsWith(`${how} ${i} `))!.split(' ')[2];
      assert.equal(status('tsnet'), status('direct'), c);
      assert.equal(status('daemonpath'), status('direct'), `${c}: through the daemon`);
    }
  });

  it('runs changes in the daemon with the same effects and output; declines what it must not run', () => {
    const r = inFreshHost(`set -e
      daemonpath create --subnet 172.26.1.0/24 --label via=daemon tn | grep -cE '^[0-9a-f]{64}$'
      daemonpath sandbox create ts --network tn >/dev/null
      daemonpath connect bridge ts; daemonpath disconnect bridge ts
      direct sandbox inspect ts | grep -c '"tn": {'
      direct sandbox exec ts -- ip -o -4 addr show eth0 | grep -o '172.26.1.2/24'
      daemonpath rm tn 2>&1 | head -1; echo "rm in use: \${PIPESTATUS[0]}"
      set +e
      daemonpath sandbox exec ts -- true; echo "exec declined: $?"
      daemonpath run --name r1 --rm -- true; echo "run declined: $?"
      daemonpath --state-dir "$TSNET_STATE_DIR/other" ls >/dev/null; echo "other state dir declined: $?"
      # A direct run would take the daemon's config copy whatever TSNET_CONFIG names: served.
      TSNET_CONFIG=/nonexistent daemonpath ls >/dev/null; echo "other config file: $?"
      # A copy the daemon does not run with (as between a SIGHUP's reload and its publish): declined.
      cp "$TSNET_STATE_DIR/daemon-config.json" "$TSNET_STATE_DIR/copy.bak"
      echo '{"mtu":1400}' >"$TSNET_STATE_DIR/daemon-config.json"
      daemonpath ls >/dev/null; echo "other config copy declined: $?"
      mv "$TSNET_STATE_DIR/copy.bak" "$TSNET_STATE_DIR/daemon-config.json"
      daemonpath ls >/dev/null; echo "copy back: $?"
      daemonpath --firewall-backend iptables ls >/dev/null; echo "firewall backend declined: $?"
      TSNET_DEBUG=1 daemonpath ls >/dev/null; echo "debug declined: $?"
      unshare --net ${BUILT_CLI_SHIM} ls >/dev/null 2>&1; echo "other netns: $?"
      unshare --net ${daemonOnly} ls >/dev/null; echo "other netns declined: $?"
      tsnet sandbox exec ts -- hostname >/dev/null; echo "exec direct: $?"
      # A reader that closes early (head -1): quiet, status 0, on both paths.
      tsnet ls 2>&1 | head -1 | cut -c1-10; echo "pipe: \${PIPESTATUS[0]}"
      direct ls 2>&1 | head -1 | cut -c1-10; echo "pipe direct: \${PIPESTATUS[0]}"
      tsnet sandbox rm ts >/dev/null; tsnet rm tn`, daemonOnly);
    assert.equal(r.out, ['1', '1', '172.26.1.2/24', `tsnet: error while removing network: network tn id ${r.out.match(/id ([0-9a-f]{64})/)?.[1]} has active endpoints (ts)`, 'rm in use: 4',
      'exec declined: 1', 'run declined: 1', 'other state dir declined: 1', 'other config file: 0', 'other config copy declined: 1', 'copy back: 0', 'firewall backend declined: 1', 'debug declined: 1', 'other netns: 0', 'other netns declined: 1', 'exec direct: 0',
      'NETWORK ID', 'pipe: 0', 'NETWORK ID', 'pipe direct: 0', 'tn', ''].join('\n'), r.err);
  });

  it('never runs a change again when the daemon dies running it', () => {
    // The test holds the network lock, so `rm` blocks inside the daemon after its ack; the daemon is then killed.
    const r = inFreshHost(`tsnet create --subnet 172.26.2.0/24 keep >/dev/null
      exec 9>"$TSNET_STATE_DIR/cni-network.lock"; flock 9
      tsnet rm keep >"$TSNET_STATE_DIR/rm.out" 2>&1 & rm=$!
      sleep 2; kill -9 $d; wait $rm; echo "rm status $?"
      cat "$TSNET_STATE_DIR/rm.out"
      flock -u 9; exec 9>&-
      sleep 1
      direct inspect -f '{{.Name}}' keep
      direct prune -f >/dev/null; direct ls -q --filter name=keep | wc -l`, daemonOnly);
    assert.equal(r.out, 'rm status 1\ntsnet: the tsnet daemon stopped while running this command: it may or may not have taken effect (check with tsnet ls / tsnet sandbox ls)\nkeep\n0\n', r.err);
  });
});
