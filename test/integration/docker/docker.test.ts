/**
 * tsnet as Docker's network and IPAM driver, with a real dockerd inside the private host:
 * `docker network create -d tsnet --ipam-driver tsnet`, containers that reach each other by address
 * and by name (Docker's embedded DNS), the outside through tsnet's NAT, a `-p` port published by
 * tsnet's firewall, and plugin and engine restarts that keep all of it working.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createOutside, type Outside } from '../../helpers/outside';
import { snapshot, type KernelSnapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { tsnet } from '../../helpers/cli';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import { Engine, ensurePackages, IMAGE, PAGE } from './engine';
import { PluginProcess } from './plugin';

const run = promisify(execFile);
/** busybox wget bounded by busybox timeout (its own -T crashes busybox-static 1.35). */
const WGET = ['timeout', '10', 'wget', '-qO-'];
const SUBNET = '172.30.0.0/16';

/** Says loudly, once, why the suite does not run. */
function skipLoudly(ctx: Mocha.Context, why: string): never {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPED: tsnet Docker plugin integration tests\n!! ${why.split('\n').join('\n!! ')}\n${bar}\n`);
  ctx.skip();
}

/** An HTTP server in the namespace at key that answers with the client's address as it sees it. */
function startPeerServer(key: string, port: number): Promise<ChildProcess> {
  const code = `require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace(/^::ffff:/,''))).listen(${port},()=>console.log('ready'))`;
  const proc = spawn('nsenter', [`--net=${key}`, '--', process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout!.once('data', () => resolve(proc));
    proc.once('exit', (c) => reject(new Error(`peer server exited ${c}`)));
  });
}

/** Fetches url with busybox wget from inside the namespace at key. */
async function wgetIn(key: string, url: string): Promise<string> {
  const { stdout } = await run('nsenter', [`--net=${key}`, '--', '/bin/busybox', 'timeout', '10', '/bin/busybox', 'wget', '-qO-', url], { timeout: 15_000 });
  return stdout.trim();
}

describe('docker: tsnet as remote network and IPAM driver (real dockerd)', function () {
  this.timeout(240_000);
  let engine: Engine | undefined;
  let plugin: PluginProcess | undefined;
  let outside: Outside | undefined;
  let peer: ChildProcess | undefined;
  let baseline: { kernel: KernelSnapshot; store: string[] };
  let networkId = '';
  const exec = (container: string, ...argv: string[]) => engine!.docker('exec', container, ...argv);

  before(async function () {
    if (process.getuid?.() !== 0) skipLoudly(this, 'needs root inside the private host');
    const missing = ensurePackages();
    if (missing) skipLoudly(this, missing);
    engine = Engine.prepare();
    plugin = new PluginProcess(path.join(engine.dir, 'plugin.log'));
    await plugin.start();
    outside = await createOutside('docker');
    peer = await startPeerServer(outside.key, 7000);
    baseline = { kernel: await snapshot(), store: storeKeys() };
    try {
      await engine.start();
    } catch (err) {
      skipLoudly(this, `dockerd could not start here:\n${(err as Error).message}`);
    }
    await engine.importImage();
  });

  after(async () => {
    const steps: (() => Promise<unknown> | unknown)[] = [
      // Docker tears its endpoints down through the plugin, so it must be serving.
      () => plugin?.start(),
      () => engine?.docker('rm', '-f', 'c1', 'c2', 'c3'),
      () => engine?.docker('network', 'rm', 'tnet', 'tnet2'),
      () => engine?.remove(),
      () => plugin?.stop(),
      () => peer?.kill(),
      () => outside?.remove(),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('docker network create -d tsnet --ipam-driver tsnet makes a tsnet network with tsnet\'s pool', async () => {
    networkId = await engine!.docker('network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', SUBNET, 'tnet');
    assert.match(networkId, /^[0-9a-f]{64}$/);
    const ls = tsnet('ls', '--format', 'json');
    assert.equal(ls.status, 0, ls.stderr);
    assert.ok(ls.stdout.includes(`docker-${networkId.slice(0, 12)}`), ls.stdout);
    const h = NetlinkHandle.open();
    try {
      const bridge = await h.mustGetLink(`br-${networkId.slice(0, 12)}`);
      assert.ok((await h.listAddrs(bridge.index)).some((a) => a.cidr === '172.30.0.1/16'));
    } finally {
      h.close();
    }
  });

  it('containers get their addresses from tsnet and route through the gateway', async () => {
    // A short stop timeout: sleep as PID 1 ignores SIGTERM, and the engine restart stops every container.
    await engine!.docker('run', '-d', '--name', 'c1', '--stop-timeout', '1', '--network', 'tnet', IMAGE, 'sleep', '3600');
    await engine!.docker('run', '-d', '--name', 'c2', '--stop-timeout', '1', '--network', 'tnet', '-p', '8080:80', IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www');
    assert.match(await exec('c1', 'ip', '-4', 'addr', 'show', 'eth0'), /inet 172\.30\.0\.2\/16/);
    assert.match(await exec('c2', 'ip', '-4', 'addr', 'show', 'eth0'), /inet 172\.30\.0\.3\/16/);
    assert.match(await exec('c1', 'ip', 'route'), /default via 172\.30\.0\.1 dev eth0/);
    const inspect = JSON.parse(tsnet('inspect', `docker-${networkId.slice(0, 12)}`).stdout)[0];
    assert.deepEqual(Object.values(inspect.Containers as Record<string, { IPv4Address: string }>).map((c) => c.IPv4Address).sort(), ['172.30.0.2/16', '172.30.0.3/16']);
  });

  it('containers reach each other by address and by name', async () => {
    await exec('c1', 'ping', '-c', '1', '-W', '3', '172.30.0.3');
    assert.match(await exec('c1', 'ping', '-c', '1', '-W', '3', 'c2'), /172\.30\.0\.3/);
    assert.equal(await exec('c1', ...WGET, 'http://c2/'), PAGE);
    assert.equal(await exec('c1', ...WGET, 'http://172.30.0.3/'), PAGE);
    assert.match(await exec('c2', 'ping', '-c', '1', '-W', '3', 'c1'), /172\.30\.0\.2/);
  });

  it('a container reaches the outside namespace through NAT', async () => {
    await exec('c1', 'ping', '-c', '1', '-W', '3', outside!.outsideIp);
    // The outside sees the host's uplink address, not the container's: masqueraded.
    assert.equal(await exec('c1', ...WGET, `http://${outside!.outsideIp}:7000/`), outside!.hostIp);
  });

  it('-p publishes the port through tsnet\'s firewall, reachable from the outside', async () => {
    assert.equal(await wgetIn(outside!.key, `http://${outside!.hostIp}:8080/`), PAGE);
    // Host ports are reserved in the store, as for the CLI's -p, so no other endpoint can take 8080.
    assert.ok(storeKeys().includes('port/tcp/8080/*'));
  });

  it('docker network connect --ip adds a second tsnet interface; disconnect takes it away', async () => {
    const second = await engine!.docker('network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', '172.31.0.0/16', 'tnet2');
    await engine!.docker('network', 'connect', '--ip', '172.31.0.50', 'tnet2', 'c1');
    assert.match(await exec('c1', 'ip', '-4', 'addr', 'show', 'eth1'), /inet 172\.31\.0\.50\/16/);
    // The first network keeps the default route: Docker chose its gateway endpoint already.
    assert.match(await exec('c1', 'ip', 'route'), /default via 172\.30\.0\.1 dev eth0/);
    assert.equal(await exec('c1', ...WGET, 'http://c2/'), PAGE);
    await engine!.docker('network', 'disconnect', 'tnet2', 'c1');
    assert.doesNotMatch(await exec('c1', 'ip', 'link'), /eth1/);
    await engine!.docker('network', 'rm', 'tnet2');
    assert.ok(!tsnet('ls').stdout.includes(`docker-${second.slice(0, 12)}`));
  });

  it('restarting the plugin: running containers keep working, new ones work with the restarted plugin', async () => {
    await plugin!.stop('SIGKILL');
    try {
      // The data plane is the kernel's: nothing depends on the plugin process.
      assert.equal(await exec('c1', ...WGET, 'http://c2/'), PAGE);
      assert.equal(await wgetIn(outside!.key, `http://${outside!.hostIp}:8080/`), PAGE);
    } finally {
      // The crashed plugin left its socket file: the new one replaces it.
      await plugin!.start();
    }
    const out = await engine!.docker('run', '--rm', '--name', 'c3', '--network', 'tnet', IMAGE, 'sh', '-c', 'ip -4 addr show eth0; timeout 10 wget -qO- http://c2/');
    assert.match(out, /inet 172\.30\.0\.4\/16/);
    assert.match(out, new RegExp(PAGE));
  });

  it('restarting the engine: the network stays, containers start again and talk', async () => {
    await engine!.stop();
    await engine!.start();
    await engine!.docker('start', 'c1', 'c2');
    assert.equal(await exec('c1', ...WGET, 'http://c2/'), PAGE);
    assert.equal(await exec('c1', ...WGET, `http://${outside!.outsideIp}:7000/`), outside!.hostIp);
    assert.equal(await wgetIn(outside!.key, `http://${outside!.hostIp}:8080/`), PAGE);
  });

  it('removing the containers and the network leaves the kernel and the store as they were', async () => {
    await engine!.docker('rm', '-f', 'c1', 'c2');
    await engine!.docker('network', 'rm', 'tnet');
    assert.ok(!tsnet('ls').stdout.includes('docker-'));
    assert.deepEqual(storeKeys(), baseline.store);
    assert.deepEqual(await snapshot(), baseline.kernel);
  });
});
