/**
 * tsnet's macvlan driver through Docker, with a real dockerd inside the private host: the
 * `tsnet-macvlan` socket serves the NetworkDriver, `tsnet` the IPAM; a parent veth whose peer is eth0
 * of an "outside" namespace holding the gateway address is the L2 segment. Containers on the network
 * reach each other and the outside by address (no NAT: the outside sees their own addresses) and the
 * outside reaches them; `-p` is refused; `docker network rm` leaves the parent as found.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { snapshot, type KernelSnapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';
import { tsnet } from '../../helpers/cli';
import { NetlinkHandle } from '../../../src/kernel/netlink';
import { createNetns, deleteNetns, netnsPath } from '../../../src/kernel/netns';
import { Engine, ensurePackages, IMAGE } from './engine';
import { PluginProcess } from './plugin';

const run = promisify(execFile);
const RUN = process.pid.toString(36);
const PARENT = `pmv${RUN}`.slice(0, 15);
const OUTSIDE = netnsPath(`omv${RUN}`);
const NET = `mvnet-${RUN}`;
const C1 = `mv1-${RUN}`;
const C2 = `mv2-${RUN}`;
const C3 = `mv3-${RUN}`;
const GATEWAY = '192.168.70.1';

/** Says loudly, once, why the suite does not run. */
function skipLoudly(ctx: Mocha.Context, why: string): never {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPED: tsnet Docker macvlan plugin integration tests\n!! ${why.split('\n').join('\n!! ')}\n${bar}\n`);
  ctx.skip();
}

/** The parent in the host, its peer eth0 of the outside namespace with the gateway address on it. */
async function createSegment(): Promise<void> {
  createNetns(OUTSIDE);
  const host = NetlinkHandle.open();
  const out = NetlinkHandle.open(OUTSIDE);
  const fd = fs.openSync(OUTSIDE, 'r');
  try {
    const link = await host.createVeth(PARENT, 'eth0', { peerNetnsFd: fd });
    await host.setUp(link.index);
    const eth0 = await out.mustGetLink('eth0');
    await out.addAddr(eth0.index, `${GATEWAY}/24`);
    await out.setUp(eth0.index);
    await out.setUp((await out.mustGetLink('lo')).index);
  } finally {
    fs.closeSync(fd);
    host.close();
    out.close();
  }
}

async function removeSegment(): Promise<void> {
  const h = NetlinkHandle.open();
  try {
    await h.deleteLink(PARENT).catch(() => undefined);
  } finally {
    h.close();
  }
  if (fs.existsSync(OUTSIDE)) deleteNetns(OUTSIDE);
}

/** What a test can see of the parent: kind, state, MTU, MAC, master and addresses. */
async function parentState(): Promise<string> {
  const h = NetlinkHandle.open();
  try {
    const l = await h.mustGetLink(PARENT);
    const addrs = (await h.listAddrs(l.index)).filter((a) => !a.cidr.startsWith('fe80:')).map((a) => a.cidr).sort();
    return JSON.stringify({ kind: l.kind, up: l.up, mtu: l.mtu, mac: l.mac, master: l.master, addrs });
  } finally {
    h.close();
  }
}

/** Host links named like the engine transfer names of tsnet (tsp…): none may outlive their endpoint. */
async function transferLinks(): Promise<string[]> {
  const h = NetlinkHandle.open();
  try {
    return (await h.listLinks()).map((l) => l.name).filter((n) => n.startsWith('tsp'));
  } finally {
    h.close();
  }
}

/** An HTTP server in the outside namespace answering with the client's address as it sees it. */
function startPeerServer(port: number): Promise<ChildProcess> {
  const code = `require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace(/^::ffff:/,''))).listen(${port},()=>console.log('ready'))`;
  const proc = spawn('nsenter', [`--net=${OUTSIDE}`, '--', process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout!.once('data', () => resolve(proc));
    proc.once('exit', (c) => reject(new Error(`peer server exited ${c}`)));
  });
}

/** Runs busybox in the outside namespace. */
async function outside(...argv: string[]): Promise<string> {
  const { stdout } = await run('nsenter', [`--net=${OUTSIDE}`, '--', '/bin/busybox', ...argv], { timeout: 15_000 });
  return stdout.trim();
}

describe('docker: tsnet-macvlan as remote network driver (real dockerd)', function () {
  this.timeout(240_000);
  let engine: Engine | undefined;
  let ipamPlugin: PluginProcess | undefined;
  let macvlanPlugin: PluginProcess | undefined;
  let peer: ChildProcess | undefined;
  let segment = false;
  let baseline: { kernel: KernelSnapshot; store: string[]; parent: string };
  let networkId = '';
  const exec = (container: string, ...argv: string[]) => engine!.docker('exec', container, ...argv);

  before(async function () {
    if (process.getuid?.() !== 0) skipLoudly(this, 'needs root inside the private host');
    const missing = ensurePackages();
    if (missing) skipLoudly(this, missing);
    engine = Engine.prepare();
    ipamPlugin = new PluginProcess(path.join(engine.dir, 'plugin.log'));
    macvlanPlugin = new PluginProcess(path.join(engine.dir, 'plugin-macvlan.log'), ['--driver', 'macvlan']);
    await ipamPlugin.start();
    await macvlanPlugin.start();
    await createSegment();
    segment = true;
    peer = await startPeerServer(7000);
    baseline = { kernel: await snapshot(), store: storeKeys(), parent: await parentState() };
    try {
      await engine.start();
    } catch (err) {
      skipLoudly(this, `dockerd could not start here:\n${(err as Error).message}`);
    }
    await engine.importImage();
  });

  after(async () => {
    const steps: (() => Promise<unknown> | unknown)[] = [
      // Docker tears its endpoints down through the plugins, so they must be serving.
      () => ipamPlugin?.start(),
      () => macvlanPlugin?.start(),
      () => engine?.docker('rm', '-f', C1, C2, C3),
      () => engine?.docker('network', 'rm', NET),
      () => engine?.remove(),
      () => macvlanPlugin?.stop(),
      () => ipamPlugin?.stop(),
      () => peer?.kill(),
      () => (segment ? removeSegment() : undefined),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('the macvlan plugin socket sits next to tsnet.sock', () => {
    assert.ok(fs.existsSync('/run/docker/plugins/tsnet.sock'));
    assert.ok(fs.existsSync('/run/docker/plugins/tsnet-macvlan.sock'));
  });

  it('docker network create -d tsnet-macvlan --ipam-driver tsnet -o parent=… makes a tsnet macvlan network', async () => {
    networkId = await engine!.docker('network', 'create', '-d', 'tsnet-macvlan', '--ipam-driver', 'tsnet', '-o', `parent=${PARENT}`, '-o', 'macvlan_mode=bridge',
      '--subnet', '192.168.70.0/24', '--gateway', GATEWAY, NET);
    assert.match(networkId, /^[0-9a-f]{64}$/);
    const inspect = tsnet('inspect', `docker-${networkId.slice(0, 12)}`);
    assert.equal(inspect.status, 0, inspect.stderr);
    const net = JSON.parse(inspect.stdout)[0];
    assert.equal(net.Driver, 'macvlan');
    assert.equal(net.Options.parent, PARENT);
    // The parent itself is untouched: no address, no master, same state.
    assert.equal(await parentState(), baseline.parent);
  });

  it('containers get tsnet addresses on macvlan children of the parent, routed through the outside gateway', async () => {
    // A short stop timeout: sleep as PID 1 ignores SIGTERM.
    await engine!.docker('run', '-d', '--name', C1, '--stop-timeout', '1', '--network', NET, IMAGE, 'sleep', '3600');
    await engine!.docker('run', '-d', '--name', C2, '--stop-timeout', '1', '--network', NET, IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www');
    assert.match(await exec(C1, 'ip', '-4', 'addr', 'show', 'eth0'), /inet 192\.168\.70\.2\/24/);
    assert.match(await exec(C2, 'ip', '-4', 'addr', 'show', 'eth0'), /inet 192\.168\.70\.3\/24/);
    assert.match(await exec(C1, 'ip', 'route'), /default via 192\.168\.70\.1 dev eth0/);
    // The interface left the host: no transfer name is left behind there.
    assert.deepEqual(await transferLinks(), []);
  });

  it('containers reach each other and the outside by address; the outside sees their own addresses', async () => {
    await exec(C1, 'ping', '-c', '1', '-W', '3', '192.168.70.3');
    assert.match(await exec(C1, 'timeout', '10', 'wget', '-qO-', 'http://192.168.70.3/'), /tsnet-docker-page/);
    await exec(C2, 'ping', '-c', '1', '-W', '3', GATEWAY);
    // No NAT on macvlan: the outside answers with the container's own address.
    assert.equal(await exec(C1, 'timeout', '10', 'wget', '-qO-', `http://${GATEWAY}:7000/`), '192.168.70.2');
  });

  it('the outside reaches a container by address on the segment', async () => {
    await outside('ping', '-c', '1', '-W', '3', '192.168.70.3');
    assert.match(await outside('timeout', '10', '/bin/busybox', 'wget', '-qO-', 'http://192.168.70.3/'), /tsnet-docker-page/);
  });

  it('-p on a macvlan network is refused (no NAT), leaving no interface or port behind', async () => {
    await assert.rejects(engine!.docker('run', '-d', '--name', C3, '--network', NET, '-p', '8081:80', IMAGE, 'httpd', '-f', '-p', '80'), /no NAT/);
    await engine!.docker('rm', '-f', C3);
    assert.ok(!storeKeys().some((k) => k.startsWith('port/')), storeKeys().join(' '));
    assert.deepEqual(await transferLinks(), []);
    // The network still works for the others.
    await exec(C1, 'ping', '-c', '1', '-W', '3', '192.168.70.3');
  });

  it('removing the containers and docker network rm leave the parent, the kernel and the store as found', async () => {
    await engine!.docker('rm', '-f', C1, C2);
    await engine!.docker('network', 'rm', NET);
    assert.ok(!tsnet('ls').stdout.includes(`docker-${networkId.slice(0, 12)}`));
    assert.deepEqual(await transferLinks(), []);
    assert.equal(await parentState(), baseline.parent);
    assert.deepEqual(storeKeys(), baseline.store);
    assert.deepEqual(await snapshot(), baseline.kernel);
  });
});
