/**
 * Outbound NAT and published ports through the controller and the CLI, with real traffic from an
 * outside namespace. Runs once per firewall backend (npm test runs this file again with
 * TSNET_FIREWALL_BACKEND=iptables in a fresh private host).
 */
import { strict as assert } from 'node:assert';
import { Controller } from '../../../src/index';
import { tsnet } from '../../helpers/cli';
import { createOutside, type Outside } from '../../helpers/outside';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';

const SOURCE_SERVER = `require('net').createServer(c=>c.end(c.remoteAddress)).listen(+process.argv[1],()=>process.stdout.write('ready\\n'))`;

describe(`published ports and NAT (backend: ${process.env.TSNET_FIREWALL_BACKEND ?? 'default'})`, function () {
  this.timeout(60000);
  const run = process.pid.toString(36);
  const net = `pub-${run}`;
  let c: Controller;
  let outside: Outside;
  const servers: { stop(): void }[] = [];

  before(async () => {
    c = await Controller.open();
    if (process.env.TSNET_FIREWALL_BACKEND) assert.equal((c as unknown as { core: { firewall: { backend: string } } }).core.firewall.backend, process.env.TSNET_FIREWALL_BACKEND);
    outside = await createOutside(run);
    await c.createNetwork({ name: net, ipam: [{ subnet: '172.16.50.0/24' }] });
  });
  afterEach(() => servers.splice(0).forEach((s) => s.stop()));
  after(async () => {
    for (const s of (await c.listSandboxes()).filter((x) => x.name.endsWith(run))) await c.deleteSandbox(s.id).catch(() => undefined);
    await c.deleteNetwork(net).catch(() => undefined);
    await outside.remove();
    await c.close();
  });

  it('masquerades outbound traffic: the outside sees the host uplink address', async () => {
    const sb = await c.createSandbox({ name: `nat-${run}`, network: net });
    const { spawn } = await import('node:child_process');
    const proc = spawn('nsenter', [`--net=${outside.key}`, '--', process.execPath, '-e', SOURCE_SERVER, '7777'], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push({ stop: () => proc.kill() });
    await new Promise((r) => proc.stdout!.once('data', r));
    const seen = await tcpExchange(sb.key, outside.outsideIp, 7777, 'x');
    assert.match(seen, /198\.51\.100\.1$/);
  });

  it('publishes -p 8080:80: reachable from outside, from the host via 127.0.0.1 and its addresses, from another sandbox, and hairpin', async () => {
    assert.equal(tsnet('sandbox', 'create', `web-${run}`, '--network', net, '-p', '8080:80').status, 0);
    const web = await c.getSandbox(`web-${run}`);
    servers.push(await startEchoServer(web.key, 80));
    assert.equal(await tcpExchange(outside.key, outside.hostIp, 8080, 'outside'), 'echo:outside');
    assert.equal(await tcpExchange('', '127.0.0.1', 8080, 'localhost'), 'echo:localhost');
    assert.equal(await tcpExchange('', outside.hostIp, 8080, 'host-addr'), 'echo:host-addr');
    const other = await c.createSandbox({ name: `other-${run}`, network: net });
    assert.equal(await tcpExchange(other.key, outside.hostIp, 8080, 'other'), 'echo:other');
    assert.equal(await tcpExchange(web.key, outside.hostIp, 8080, 'hairpin'), 'echo:hairpin');
    assert.deepEqual(tsnet('port', `web-${run}`).stdout.split('\n').filter(Boolean), ['80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
    const [view] = JSON.parse(tsnet('sandbox', 'inspect', `web-${run}`).stdout);
    assert.deepEqual(view.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: '8080' }]);
  });

  it('publishes on one host address and on random ports (-P with --expose)', async () => {
    assert.equal(tsnet('sandbox', 'create', `multi-${run}`, '--network', net, '-p', '127.0.0.1:9090:90', '--expose', '91', '-P').status, 0);
    const lines = tsnet('port', `multi-${run}`).stdout.split('\n').filter(Boolean);
    assert.equal(lines[0], '90/tcp -> 127.0.0.1:9090');
    assert.match(lines[1], /^91\/tcp -> 0\.0\.0\.0:(\d+)$/);
    const random = Number(/:(\d+)$/.exec(lines[1])![1]);
    assert.ok(random >= 32768 && random <= 60999, `random port ${random} from the ephemeral range`);
    const sb = await c.getSandbox(`multi-${run}`);
    servers.push(await startEchoServer(sb.key, 90), await startEchoServer(sb.key, 91));
    assert.equal(await tcpExchange('', '127.0.0.1', 9090, 'one'), 'echo:one');
    assert.match(await tcpExchange(outside.key, outside.hostIp, 9090, 'no', 1500), /^(error:|timeout)/, 'bound to 127.0.0.1 only');
    assert.equal(await tcpExchange(outside.key, outside.hostIp, random, 'rnd'), 'echo:rnd');
  });

  it('refuses a port already published or bound by a host process, leaving nothing half-made', async () => {
    assert.equal(tsnet('sandbox', 'create', `first-${run}`, '--network', net, '-p', '8181:80').status, 0);
    const kernelBefore = await snapshot();
    const keysBefore = storeKeys();
    const dup = tsnet('sandbox', 'create', `dup-${run}`, '--network', net, '-p', '8181:80');
    assert.equal(dup.status, 4);
    assert.match(dup.stderr, /port is already allocated/);
    const hostProc = await startEchoServer('', 8282);
    servers.push(hostProc);
    const busy = tsnet('sandbox', 'create', `busy-${run}`, '--network', net, '-p', '8282:80');
    assert.equal(busy.status, 4);
    assert.match(busy.stderr, /0\.0\.0\.0:8282\/tcp failed: port is already allocated/);
    assert.deepEqual(await snapshot(), kernelBefore);
    assert.deepEqual(storeKeys(), keysBefore);
  });

  it('refuses bad publish specs before anything is applied', () => {
    const bad: [string, RegExp][] = [['0:80', /port/], ['70000:80', /port/], ['8000-8010:80-85', /range/], ['80/icmp', /protocol/], ['192.0.2.99:8080:80', /not an address of this host/]];
    for (const [spec, re] of bad) {
      const r = tsnet('sandbox', 'create', `bad-${run}`, '--network', net, '-p', spec);
      assert.equal(r.status, 2, `-p ${spec}: ${r.stderr}`);
      assert.match(r.stderr, re, `-p ${spec}`);
    }
    assert.equal(tsnet('sandbox', 'inspect', `bad-${run}`).status, 3);
  });

  it('publishes on connect, and binds to the network\'s host_binding_ipv4 by default', async () => {
    const local = `local-${run}`;
    assert.equal(tsnet('create', '--subnet', '172.16.51.0/24', '-o', 'com.docker.network.bridge.host_binding_ipv4=127.0.0.1', local).status, 0);
    try {
      assert.equal(tsnet('sandbox', 'create', `late-${run}`, '--network', net).status, 0);
      assert.equal(tsnet('connect', '-p', '9393:80', local, `late-${run}`).status, 0);
      assert.deepEqual(tsnet('port', `late-${run}`, '80').stdout.trim().split('\n'), ['127.0.0.1:9393']);
      const sb = await c.getSandbox(`late-${run}`);
      servers.push(await startEchoServer(sb.key, 80));
      assert.equal(await tcpExchange('', '127.0.0.1', 9393, 'connected'), 'echo:connected');
      assert.match(await tcpExchange(outside.key, outside.hostIp, 9393, 'no', 1500), /^(error:|timeout)/, 'not on other host addresses');
    } finally {
      tsnet('sandbox', 'rm', `late-${run}`);
      tsnet('rm', local);
    }
  });

  it('publishes through a bridge whose name holds a dot (per-bridge sysctls still apply)', async () => {
    const dotted = `dot-${run}`;
    assert.equal(tsnet('create', '--subnet', '172.16.52.0/24', '-o', `com.docker.network.bridge.name=tb.${run}`, dotted).status, 0);
    try {
      assert.equal(tsnet('sandbox', 'create', `dotsb-${run}`, '--network', dotted, '-p', '9494:80').status, 0);
      servers.push(await startEchoServer((await c.getSandbox(`dotsb-${run}`)).key, 80));
      assert.equal(await tcpExchange('', '127.0.0.1', 9494, 'dotted'), 'echo:dotted');
    } finally {
      tsnet('sandbox', 'rm', `dotsb-${run}`);
      tsnet('rm', dotted);
    }
  });

  it('removing the endpoint removes exactly its mappings', async () => {
    assert.equal(tsnet('sandbox', 'create', `gone-${run}`, '--network', net, '-p', '8383:80').status, 0);
    const sb = await c.getSandbox(`gone-${run}`);
    servers.push(await startEchoServer(sb.key, 80));
    assert.equal(await tcpExchange(outside.key, outside.hostIp, 8383, 'before'), 'echo:before');
    assert.equal(tsnet('sandbox', 'rm', `gone-${run}`).status, 0);
    assert.match(await tcpExchange(outside.key, outside.hostIp, 8383, 'after', 1500), /^(error:|timeout)/);
    const web = await c.getSandbox(`web-${run}`);
    servers.push(await startEchoServer(web.key, 80));
    assert.equal(await tcpExchange(outside.key, outside.hostIp, 8080, 'still'), 'echo:still', "another endpoint's mapping survives");
  });
});
