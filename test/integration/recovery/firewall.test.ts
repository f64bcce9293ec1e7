/**
 * Rules flushed from outside come back, on both backends (npm test runs this file again with
 * TSNET_FIREWALL_BACKEND=iptables): after `nft flush ruleset` or `iptables -F`/`-X` (every table,
 * both families) the running daemon re-applies tsnet's rules within 5 s with no command run, a
 * state-changing command re-applies them at once, and `tsnet system gc` does on demand and says what
 * it fixed. With a real firewalld (on a private bus), tsnet's bridges are bound to its `tsnet` zone,
 * so firewalld's own forward chain lets containers out, and a real `firewall-cmd --reload` (which
 * drops runtime bindings and, on firewalld's iptables backend, every chain) is repaired within 5 s.
 * Each time, real traffic goes out through NAT and in through the published port.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDaemon } from '../../../src/daemon/client';
import { tsnet } from '../../helpers/cli';
import { firewalldMissing, type PrivateFirewalld, startFirewalld } from '../../helpers/firewalld';
import { createOutside, type Outside } from '../../helpers/outside';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';

const BACKEND = process.env.TSNET_FIREWALL_BACKEND === 'iptables' ? 'iptables' : 'nftables';
const run = process.pid.toString(36);
const SOURCE_SERVER = `require('net').createServer(c=>c.end(c.remoteAddress)).listen(+process.argv[1],()=>process.stdout.write('ready\\n'))`;

/** Whether tsnet's rules for the network on `bridge` and the DNAT of `port` are in the kernel. */
function rulesPresent(bridge: string, port: number): boolean {
  const text = BACKEND === 'nftables'
    ? execFileSync('nft', ['list', 'ruleset']).toString()
    : execFileSync('iptables-save').toString();
  return (BACKEND === 'nftables' ? /table inet tsnet/.test(text) : /:TSNET-FORWARD/.test(text)) && text.includes(bridge) && text.includes(`${port}`);
}

/** Flushes the firewall as an operator would: every rule (and user chain) of every table. */
function flushFirewall(): void {
  if (BACKEND === 'nftables') return void execFileSync('nft', ['flush', 'ruleset']);
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat']) {
      execFileSync(tool, ['-w', '-t', table, '-F']);
      execFileSync(tool, ['-w', '-t', table, '-X']);
    }
  }
}

async function within(ms: number, check: () => boolean): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

function stopDaemon(): void {
  const pidFile = path.join(process.env.TSNET_STATE_DIR!, 'daemon.pid');
  if (!fs.existsSync(pidFile)) return;
  execFileSync('sh', ['-c', `kill $(cat ${pidFile}) 2>/dev/null; for i in $(seq 50); do kill -0 $(cat ${pidFile} 2>/dev/null) 2>/dev/null || exit 0; sleep 0.1; done`]);
}

const daemonRuns = () => {
  try {
    process.kill(Number(fs.readFileSync(path.join(process.env.TSNET_STATE_DIR!, 'daemon.pid'), 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
};
/** Starts the daemon (with this process's environment) and waits until it serves. */
const startDaemon = () => syncDaemon(process.env.TSNET_STATE_DIR!);

describe(`firewall rules flushed from outside (backend: ${BACKEND})`, function () {
  this.timeout(90000);
  const net = `fw-${run}`, sb = `fwa-${run}`;
  let outside: Outside;
  let sbKey = '';
  const servers: { stop(): void }[] = [];

  /** NAT out (the outside sees the host's uplink address) and the published port in, with real traffic. */
  async function trafficFlows(port: number): Promise<void> {
    assert.equal(await tcpExchange(outside.key, outside.hostIp, port, 'in'), 'echo:in', 'published port from outside');
    assert.equal((await tcpExchange(sbKey, outside.outsideIp, 7777, 'out')).replace(/^::ffff:/, ''), outside.hostIp, 'outbound through NAT');
  }

  before(async () => {
    outside = await createOutside(`fw${run}`);
    const proc = spawn('nsenter', [`--net=${outside.key}`, '--', process.execPath, '-e', SOURCE_SERVER, '7777'], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push({ stop: () => proc.kill() });
    await new Promise((r) => proc.stdout!.once('data', r));
    assert.equal(tsnet('create', '--subnet', '172.28.50.0/24', '-o', `com.docker.network.bridge.name=fwbr${run}`.slice(0, 45), net).status, 0);
    const r = tsnet('sandbox', 'create', sb, '--network', net, '-p', '18181:80');
    assert.equal(r.status, 0, r.stderr);
    sbKey = JSON.parse(tsnet('sandbox', 'inspect', sb).stdout)[0].NetworkSettings.SandboxKey;
    servers.push(await startEchoServer(sbKey, 80));
    await startDaemon();
  });
  after(async () => {
    servers.splice(0).forEach((s) => s.stop());
    tsnet('sandbox', 'rm', sb);
    tsnet('rm', net);
    await outside.remove();
  });

  const bridge = `fwbr${run}`.slice(0, 15);

  it('the running daemon re-applies them within 5 s, with the published port', async () => {
    await trafficFlows(18181);
    assert.ok(rulesPresent(bridge, 18181));
    flushFirewall();
    assert.ok(!rulesPresent(bridge, 18181));
    await within(5000, () => rulesPresent(bridge, 18181));
    await trafficFlows(18181);
  });

  it('a state-changing command re-applies them at once, with no daemon', async () => {
    stopDaemon();
    flushFirewall();
    // A sandbox on no network changes no name, so it starts no daemon: the command alone repairs.
    const other = `fwo-${run}`;
    assert.equal(tsnet('sandbox', 'create', other, '--network', 'none').status, 0);
    try {
      assert.ok(!daemonRuns());
      assert.ok(rulesPresent(bridge, 18181), 'the flushed network is back once the command returns');
      await trafficFlows(18181);
    } finally {
      tsnet('sandbox', 'rm', other);
    }
  });

  it('tsnet system gc re-applies on demand and reports the network', async () => {
    stopDaemon();
    flushFirewall();
    const gc = tsnet('system', 'gc', '--format', 'json');
    assert.equal(gc.status, 0, gc.stderr);
    assert.ok((JSON.parse(gc.stdout) as { firewallReapplied: string[] }).firewallReapplied.includes(net), gc.stdout);
    assert.ok(rulesPresent(bridge, 18181));
    await trafficFlows(18181);
    const again = tsnet('system', 'gc', '--format', 'json');
    assert.deepEqual((JSON.parse(again.stdout) as { firewallReapplied: string[] }).firewallReapplied, [], 'nothing left to fix');
  });

  describe('with a real firewalld', () => {
    let fwd: PrivateFirewalld | undefined;
    const zoneOf = (iface: string) => {
      try {
        return fwd!.cmd(`--get-zone-of-interface=${iface}`).trim();
      } catch {
        return 'no zone';
      }
    };

    before(async function () {
      const missing = firewalldMissing();
      if (missing) {
        console.log(`      skipped: ${missing}`);
        return this.skip();
      }
      // The daemon must see firewalld's bus: restart it with the address in its environment.
      stopDaemon();
      fwd = await startFirewalld(BACKEND);
      await startDaemon();
    });
    after(async () => {
      if (!fwd) return;
      stopDaemon();
      await fwd.stop();
      await startDaemon();
    });

    it('binds the bridge to its tsnet zone, so firewalld lets the containers out', async () => {
      // firewalld's start dropped nothing of tsnet's on nftables, but its forward chain rejects unbound interfaces.
      await within(5000, () => zoneOf(bridge) === 'tsnet' && rulesPresent(bridge, 18181));
      assert.match(fwd!.cmd('--permanent', '--info-zone=tsnet'), /target: ACCEPT/);
      await trafficFlows(18181);
    });

    it('firewall-cmd --reload: repaired within 5 s with no command run', async () => {
      fwd!.cmd('--reload');
      // No look in between: the daemon's pass may already have repaired it (the next test shows what a reload drops).
      await within(5000, () => zoneOf(bridge) === 'tsnet' && rulesPresent(bridge, 18181));
      await trafficFlows(18181);
    });

    it('what a reload drops (the binding; on firewalld\'s iptables backend, tsnet\'s chains) tsnet system gc repairs and reports', async () => {
      // With no daemon, nothing repairs behind the test's back.
      stopDaemon();
      try {
        fwd!.cmd('--reload');
        assert.equal(zoneOf(bridge), 'no zone', 'the reload dropped the runtime binding');
        if (BACKEND === 'iptables') assert.ok(!rulesPresent(bridge, 18181), 'firewalld\'s iptables backend flushed tsnet\'s chains');
        const gc = tsnet('system', 'gc', '--format', 'json');
        assert.equal(gc.status, 0, gc.stderr);
        assert.ok((JSON.parse(gc.stdout) as { firewallReapplied: string[] }).firewallReapplied.includes(net), gc.stdout);
        assert.equal(zoneOf(bridge), 'tsnet');
        assert.ok(rulesPresent(bridge, 18181));
        await trafficFlows(18181);
      } finally {
        await startDaemon();
      }
    });

    it('a network removed leaves firewalld\'s zone; its own bridge was bound on create', async () => {
      const other = `fwz-${run}`, otherBridge = `fwz${run}`.slice(0, 15);
      assert.equal(tsnet('create', '--subnet', '172.28.52.0/24', '-o', `com.docker.network.bridge.name=${otherBridge}`, other).status, 0);
      assert.equal(zoneOf(otherBridge), 'tsnet');
      assert.equal(tsnet('rm', other).status, 0);
      assert.ok(!fwd!.cmd('--zone=tsnet', '--list-interfaces').split(/\s+/).includes(otherBridge));
    });
  });
});
