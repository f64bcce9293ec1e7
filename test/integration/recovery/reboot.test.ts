/**
 * A reboot on a current store, end to end: every tsnet process killed, every namespace, link and
 * firewall rule gone, the state directory kept, and a new boot id (the kernel's cannot change here,
 * so the store's record is rewritten). A read-only command changes nothing; the daemon's start, or
 * else the first state-changing command, drops the sandboxes whose namespace is gone with their
 * addresses and host ports (not re-published), and re-creates the bridge and its rules, so a new
 * sandbox gets the freed address and port and traffic flows through it from outside. A runtime's
 * later CNI DEL for a container the reboot took still succeeds.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { syncDaemon } from '../../../src/daemon/client';
import { CLI, tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { createOutside, type Outside } from '../../helpers/outside';
import { storeFile, storeRecords } from '../../helpers/store-state';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';
import { cni, Scratch } from '../cni/harness';

const BACKEND = process.env.TSNET_FIREWALL_BACKEND === 'iptables' ? 'iptables' : 'nftables';
const run = process.pid.toString(36);
const stateDir = () => process.env.TSNET_STATE_DIR!;

/** Pids of the tsnet processes (CLI, daemon and its roles) serving this test's state directory. */
function tsnetProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!pid || pid === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (cmdline.includes(path.dirname(path.dirname(CLI))) && environ.includes(`TSNET_STATE_DIR=${stateDir()}`)) pids.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Stops the daemon as an operator would, waiting until it is gone. */
function stopDaemon(): void {
  const pidFile = path.join(stateDir(), 'daemon.pid');
  if (!fs.existsSync(pidFile)) return;
  execFileSync('sh', ['-c', `kill $(cat ${pidFile}) 2>/dev/null; for i in $(seq 50); do kill -0 $(cat ${pidFile} 2>/dev/null) 2>/dev/null || exit 0; sleep 0.1; done`]);
}

/** What a reboot does to what tsnet made, the state directory kept: processes, namespaces, bridges and rules gone, a new boot id. */
function simulateReboot(namespaces: string[]): void {
  for (const pid of tsnetProcesses()) process.kill(pid, 'SIGKILL');
  for (const ns of namespaces) {
    spawnSync('umount', [ns]);
    fs.rmSync(ns, { force: true });
  }
  for (const { key, value } of storeRecords()) {
    if (key.startsWith('network/') && value.info?.device) spawnSync('ip', ['link', 'del', value.info.device]);
  }
  if (BACKEND === 'nftables') {
    spawnSync('nft', ['delete', 'table', 'inet', 'tsnet']);
  } else {
    for (const tool of ['iptables', 'ip6tables']) {
      for (const table of ['filter', 'nat']) {
        execFileSync(tool, ['-w', '-t', table, '-F']);
        execFileSync(tool, ['-w', '-t', table, '-X']);
      }
    }
  }
  const db = new Database(storeFile(), { timeout: 30000 });
  try {
    const changed = db.prepare("UPDATE kv SET value = ? WHERE key = 'host/boot-id'").run(JSON.stringify('00000000-0000-4000-8000-000000000000')).changes;
    assert.equal(changed, 1, 'the store had a boot id to change');
  } finally {
    db.close();
  }
}

for (const trigger of ['the daemon\'s start', 'the first state-changing command'] as const) {
  describe(`a reboot on a current store, recovered by ${trigger}`, function () {
    this.timeout(180000);
    const daemon = trigger === 'the daemon\'s start';
    const tag = `${run}${daemon ? 'd' : 'c'}`;
    const net = `rb-${tag}`, web = `rbweb-${tag}`, db = `rbdb-${tag}`, fresh = `rbnew-${tag}`;
    const subnet = daemon ? '172.29.80' : '172.29.81';
    const port = daemon ? 18281 : 18282;
    let outside: Outside | undefined;
    const servers: { stop(): void }[] = [];
    const scratch = new Scratch();
    const cniNet = scratch.network(`cni-rb-${tag}`);
    const cniConf = { cniVersion: '1.1.0', name: cniNet, type: 'tsnet-cni', bridge: `crb${tag}`.slice(0, 15), ipam: { type: 'host-local', subnet: daemon ? '10.124.0.0/24' : '10.125.0.0/24' } };

    after(async () => {
      servers.splice(0).forEach((s) => s.stop());
      stopDaemon();
      await scratch.cleanup();
      for (const sb of [fresh, web, db]) tsnet('sandbox', 'rm', sb);
      tsnet('rm', net);
      await outside?.remove();
    });

    it('a read-only command changes nothing; then lost sandboxes go with their addresses and ports, and the network works again', async () => {
      outside = await createOutside(`rb${tag}`);
      assert.equal(tsnet('create', '--subnet', `${subnet}.0/24`, net).status, 0);
      const made = tsnet('sandbox', 'create', web, '--network', net, '-p', `${port}:80`);
      assert.equal(made.status, 0, made.stderr);
      assert.equal(tsnet('sandbox', 'create', db, '--network', net).status, 0);
      const inspect = (sb: string) => (JSON.parse(tsnet('sandbox', 'inspect', sb).stdout) as { NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }> } }[])[0].NetworkSettings;
      const webIp = inspect(web).Networks[net].IPAddress;
      // A container a runtime attached through the CNI plugin, in a namespace the runtime made.
      const cniNs = scratch.netns(`crb-${tag}`);
      const added = await cni('ADD', cniConf, { containerId: `rb-${tag}`, netns: cniNs });
      assert.equal(added.code, 0, added.stderr);
      scratch.dropNetns(`crb-${tag}`);
      const namespaces = [inspect(web).SandboxKey, inspect(db).SandboxKey];
      const device = storeRecords().find((r) => r.key.startsWith('network/') && r.value.name === net)!.value.info.device as string;
      stopDaemon();

      simulateReboot(namespaces);
      assert.equal(spawnSync('ip', ['link', 'show', device]).status, 1, 'the bridge is gone');

      // Read-only commands reconcile nothing: store and kernel stay exactly as the reboot left them.
      const storeBefore = storeRecords();
      const kernelBefore = await snapshot();
      for (const args of [['ls'], ['sandbox', 'ls'], ['inspect', net], ['sandbox', 'inspect', web]]) tsnet(...args);
      assert.deepEqual(storeRecords(), storeBefore, 'store unchanged by read-only commands');
      assert.deepEqual(await snapshot(), kernelBefore, 'kernel unchanged by read-only commands');

      const sandboxNames = () => storeRecords().filter((r) => /^sandbox\/[^/]+$/.test(r.key)).map((r) => r.value.name as string).sort();
      assert.deepEqual(sandboxNames().filter((n) => !n.startsWith('cni-')), [db, web].sort());
      assert.equal(sandboxNames().length, 3, 'the CNI container\'s sandbox is recorded too');
      if (daemon) {
        await syncDaemon(stateDir());
        // The services process recovers while the resolver already serves: wait for it, no command run.
        const deadline = Date.now() + 10000;
        while ((sandboxNames().length || spawnSync('ip', ['link', 'show', device]).status !== 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(sandboxNames(), [], 'the daemon\'s start dropped the lost sandboxes');
        assert.equal(spawnSync('ip', ['link', 'show', device]).status, 0, 'the daemon\'s start re-created the bridge');
      }
      // The freed address and host port are a new sandbox's (the lost one's port was not re-published).
      const again = tsnet('sandbox', 'create', fresh, '--network', net, '--ip', webIp, '-p', `${port}:80`);
      assert.equal(again.status, 0, again.stderr);
      assert.deepEqual(sandboxNames(), [fresh], 'only the new sandbox is recorded');
      assert.equal(spawnSync('ip', ['link', 'show', device]).status, 0, 'the bridge is back');
      assert.equal(inspect(fresh).Networks[net].IPAddress, webIp);
      servers.push(await startEchoServer(inspect(fresh).SandboxKey, 80));
      assert.equal(await tcpExchange(outside.key, outside.hostIp, port, 'in'), 'echo:in', 'the published port works from outside');
      // The runtime, also restarted, cleans up the container the reboot took: DEL succeeds.
      const deleted = await cni('DEL', cniConf, { containerId: `rb-${tag}`, netns: cniNs });
      assert.equal(deleted.code, 0, deleted.stderr);
    });
  });
}
