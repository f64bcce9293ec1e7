/**
 * Commands racing each other, and a removal that fails halfway: the store never keeps an endpoint
 * the kernel does not have, and a network whose rm failed is neither stuck nor lost.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, type CliResult, tsnet } from '../../helpers/cli';
import { storeRecords } from '../../helpers/store-state';

const run = process.pid.toString(36);

/** Starts `tsnet ARGS…` without waiting, so two commands run at once; resolves with its exit code and stderr. */
function tsnetAsync(...args: string[]): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ status: code ?? -1, stderr: stderr.trim() }));
  });
}

/** Runs `tsnet ARGS…` with DIR first on PATH (where the fake firewall tools are). */
function tsnetWithPath(dir: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('races and failed removals', function () {
  this.timeout(180000);

  describe('connect racing disconnect of the same sandbox', () => {
    const net = `race-${run}`;
    const sb = `racesb-${run}`;
    after(() => {
      tsnet('sandbox', 'rm', sb);
      tsnet('rm', net);
    });

    // Before the fix (connect writing its record back unconditionally, after the kernel work), a
    // disconnect that removed the record in between left a "ghost": a record with no interface,
    // which then made `tsnet rm` refuse the network ("has active endpoints").
    it('leaves the store\'s endpoints equal to the sandbox\'s interfaces every time, and everything removable', async () => {
      assert.equal(tsnet('create', '--subnet', '172.31.77.0/24', net).status, 0);
      const netId = (JSON.parse(tsnet('inspect', net).stdout) as { Id: string }[])[0].Id;
      assert.equal(tsnet('sandbox', 'create', sb).status, 0);
      const nsPath = (JSON.parse(tsnet('sandbox', 'inspect', sb).stdout) as { NetworkSettings: { SandboxKey: string } }[])[0].NetworkSettings.SandboxKey;
      const records = () => storeRecords().filter((r) => r.key.startsWith(`endpoint/${netId}/`)).length;
      const interfaces = () => spawnSync('nsenter', [`--net=${nsPath}`, 'ip', '-o', '-4', 'addr'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(' 172.31.77.')).length;
      const ITERATIONS = 48;
      const ghosts: string[] = [];
      let bothSucceeded = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        // Staggered 0..60 ms in a scattered order, so the disconnect lands at every stage of the connect.
        const delay = (i * 37) % 61;
        const connect = tsnetAsync('connect', net, sb);
        await sleep(delay);
        const disconnect = await tsnetAsync('disconnect', net, sb);
        const connected = await connect;
        if (connected.status === 0 && disconnect.status === 0) bothSucceeded++;
        const [recs, ifs] = [records(), interfaces()];
        if (recs !== ifs) ghosts.push(`delay ${delay} ms: ${recs} record(s), ${ifs} interface(s) (connect ${connected.status} ${connected.stderr}; disconnect ${disconnect.status} ${disconnect.stderr})`);
        if (ifs || recs) tsnet('disconnect', net, sb);
      }
      assert.deepEqual(ghosts, [], `endpoint records without their interface in ${ghosts.length} of ${ITERATIONS} races`);
      assert.ok(bothSucceeded > 0, 'no race had both commands succeed: the disconnect never found the connect done');
      const rmSb = tsnet('sandbox', 'rm', sb);
      assert.equal(rmSb.status, 0, rmSb.stderr);
      const rmNet = tsnet('rm', net);
      assert.equal(rmNet.status, 0, rmNet.stderr);
    });
  });

  describe('a network rm that fails', () => {
    const net = `rmfail-${run}`;
    const sb = `rmfsb-${run}`;
    let fakeBin: string;
    before(() => {
      // The firewall tools read (so the command opens and marks the network) but every change fails,
      // whichever backend is in use: the rm fails after marking the network "deleting".
      fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-fake-fw-'));
      const fail = 'echo "Error: Could not process rule: Operation not permitted" >&2; exit 1';
      for (const tool of ['nft', 'iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore']) {
        const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        const reads = tool === 'nft' ? 'case " $* " in *" list "*) exec REAL "$@";; esac' : tool.endsWith('-save') ? 'exec REAL "$@"' : 'case " $* " in *" -S "*|*" -L "*|*" -C "*) exec REAL "$@";; esac';
        fs.writeFileSync(path.join(fakeBin, tool), `#!/bin/sh\n${real ? reads.replace('REAL', real) : ''}\n${fail}\n`, { mode: 0o755 });
      }
    });
    after(() => {
      tsnet('sandbox', 'rm', sb);
      tsnet('rm', net);
      fs.rmSync(fakeBin, { recursive: true, force: true });
    });

    it('leaves the network listed and usable (a sandbox joins it), and a later rm succeeds', () => {
      assert.equal(tsnet('create', '--subnet', '172.31.78.0/24', net).status, 0);
      const failed = tsnetWithPath(fakeBin, 'rm', net);
      assert.notEqual(failed.status, 0, 'the rm with a broken firewall failed');
      assert.match(failed.stderr, /Operation not permitted/);
      assert.doesNotMatch(failed.stderr, /\blist\b/, 'the rm failed at the removal, not while opening');
      assert.match(tsnet('ls').stdout, new RegExp(`\\b${net}\\b`), 'still listed');
      const joined = tsnet('sandbox', 'create', sb, '--network', net);
      assert.equal(joined.status, 0, `a sandbox joins the network the failed rm left: ${joined.stderr}`);
      assert.equal(tsnet('sandbox', 'rm', sb).status, 0);
      const removed = tsnet('rm', net);
      assert.equal(removed.status, 0, removed.stderr);
      assert.doesNotMatch(tsnet('ls').stdout, new RegExp(`\\b${net}\\b`));
    });
  });

  describe('restore racing rm of the same network', () => {
    const net = `rrace-${run}`, bridge = `rr${run}`.slice(0, 15), other = `rrsb-${run}`;
    const linkExists = () => spawnSync('ip', ['link', 'show', bridge], { stdio: 'ignore' }).status === 0;
    const rulesMention = () => spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout.includes(`"${bridge}"`);
    after(() => {
      tsnet('sandbox', 'rm', other);
      tsnet('rm', net);
      spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    });

    // A state-changing command re-creates a network whose bridge the kernel lost (restore). Before
    // restore and rm were serialized under the network lock (and restore re-read the record), a
    // restore that had read the network before an rm removed it re-made its bridge and rules after:
    // a bridge and rules no record owns, and the subnet free for another network to take.
    it('never leaves a bridge or rules behind a removed network', async () => {
      const leftovers: string[] = [];
      for (let i = 0; i < 20; i++) {
        assert.equal(tsnet('create', '--subnet', '172.31.79.0/24', '-o', `com.docker.network.bridge.name=${bridge}`, net).status, 0);
        // The kernel loses the bridge: the next state-changing command restores it.
        spawnSync('ip', ['link', 'del', bridge]);
        const restore = tsnetAsync('sandbox', 'create', other, '--network', 'none');
        await sleep((i * 7) % 40);
        const rm = await tsnetAsync('rm', net);
        const restored = await restore;
        assert.equal(rm.status, 0, `rm: ${rm.stderr}`);
        assert.equal(restored.status, 0, `the restoring command: ${restored.stderr}`);
        if (linkExists() || rulesMention()) leftovers.push(`race ${i}: bridge ${linkExists() ? 'left' : 'gone'}, rules ${rulesMention() ? 'left' : 'gone'}`);
        spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
        assert.equal(tsnet('sandbox', 'rm', other).status, 0);
      }
      assert.deepEqual(leftovers, []);
    });
  });
});
