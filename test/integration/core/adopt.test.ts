/**
 * Bridges named with `-o com.docker.network.bridge.name`: an existing one is adopted and left as
 * found (addresses, routes, up or down) by `tsnet rm` and by the undo of a failed create; one tsnet
 * had to make is removed with the network.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, type CliResult, tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { storeKeys } from '../../helpers/store-state';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** What an operator would check of a bridge: whether it exists, is up, its addresses and the routes through it. */
function bridgeState(name: string): { exists: boolean; up?: boolean; addrs?: string[]; routes?: string[] } {
  const link = spawnSync('ip', ['-j', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  if (link.status !== 0) return { exists: false };
  const [info] = JSON.parse(link.stdout) as { flags: string[] }[];
  const [addrs] = JSON.parse(ip('-j', 'addr', 'show', 'dev', name)) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  const routes = JSON.parse(ip('-j', 'route', 'show', 'dev', name)) as { dst: string }[];
  return {
    exists: true,
    up: info.flags.includes('UP'),
    // Link-local IPv6 comes and goes with the link state, which is compared on its own.
    addrs: addrs.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`).sort(),
    routes: routes.map((r) => r.dst).sort(),
  };
}

/** Runs the CLI with a `nft` on PATH that always fails, as a firewall whose ruleset cannot be changed. */
function tsnetWithBrokenNft(dir: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, '--firewall-backend', 'nftables', ...args], {
    encoding: 'utf8', timeout: 30000, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('adopted and own bridges (-o com.docker.network.bridge.name)', function () {
  this.timeout(60000);
  const run = process.pid.toString(36);
  const bridge = `tsad${run}`.slice(0, 15);
  const own = `tsown${run}`.slice(0, 15);
  const nets = [`adopt-${run}`, `adopt2-${run}`, `own-${run}`, `ownfail-${run}`];
  let fakeBin: string;

  before(() => {
    // The predefined networks exist before any test breaks the firewall: they are made on first use.
    assert.equal(tsnet('ls', '-q').status, 0);
    fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-fake-nft-'));
    fs.writeFileSync(path.join(fakeBin, 'nft'), '#!/bin/sh\necho "Error: Could not process rule: Operation not permitted" >&2\nexit 1\n', { mode: 0o755 });
  });
  beforeEach(() => {
    // The operator's bridge: an address of its own, up, with a route through it.
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', '192.0.2.1/24', 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    ip('route', 'add', '198.18.7.0/24', 'dev', bridge);
  });
  afterEach(() => {
    tsnet('sandbox', 'rm', `adsb-${run}`);
    for (const n of nets) tsnet('rm', n);
    for (const l of [bridge, own]) spawnSync('ip', ['link', 'del', l]);
  });
  after(() => fs.rmSync(fakeBin, { recursive: true, force: true }));

  it('adopts an existing bridge, serves sandboxes on it, and rm leaves it as found', () => {
    const found = bridgeState(bridge);
    assert.deepEqual(found, { exists: true, up: true, addrs: ['192.0.2.1/24'], routes: ['192.0.2.0/24', '198.18.7.0/24'] });
    const net = `adopt-${run}`;
    const created = tsnet('create', '--subnet', '172.16.70.0/24', '-o', `com.docker.network.bridge.name=${bridge}`, net);
    assert.equal(created.status, 0, created.stderr);
    assert.deepEqual(bridgeState(bridge).addrs, ['172.16.70.1/24', '192.0.2.1/24'], 'the gateway is added beside the operator\'s address');
    assert.equal(tsnet('sandbox', 'create', `adsb-${run}`, '--network', net).status, 0);
    const hostVeth = JSON.parse(ip('-j', 'link', 'show', 'master', bridge)) as { ifname: string }[];
    assert.equal(hostVeth.length, 1, 'the sandbox\'s veth is a port of the adopted bridge');
    assert.equal(tsnet('sandbox', 'rm', `adsb-${run}`).status, 0);
    const removed = tsnet('rm', net);
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(bridgeState(bridge), found);
  });

  it('the undo of a failed create leaves an adopted bridge as found: a refused subnet, a firewall that fails', async () => {
    const found = bridgeState(bridge);
    const kernelBefore = await snapshot();
    const keysBefore = storeKeys();
    const overlap = tsnet('create', '--subnet', '172.16.71.0/24', '--subnet', '172.16.71.128/25', '-o', `com.docker.network.bridge.name=${bridge}`, `adopt2-${run}`);
    assert.equal(overlap.status, 4, overlap.stderr);
    assert.match(overlap.stderr, /overlaps/);
    // The firewall fails after the bridge got its gateway address: the undo must take exactly that away.
    const broken = tsnetWithBrokenNft(fakeBin, 'create', '--subnet', '172.16.72.0/24', '-o', `com.docker.network.bridge.name=${bridge}`, `adopt2-${run}`);
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stderr, /^tsnet: .*nft.*Operation not permitted/);
    assert.equal(broken.stdout, '');
    assert.deepEqual(bridgeState(bridge), found);
    assert.deepEqual(await snapshot(), kernelBefore, 'kernel unchanged');
    assert.deepEqual(storeKeys(), keysBefore, 'store unchanged');
  });

  it('leaves an adopted bridge that was down, down: after rm and after the undo of a failed create', () => {
    ip('link', 'set', bridge, 'down');
    const found = bridgeState(bridge);
    assert.deepEqual(found, { exists: true, up: false, addrs: ['192.0.2.1/24'], routes: [] });
    const net = `adopt-${run}`;
    const created = tsnet('create', '--subnet', '172.16.74.0/24', '-o', `com.docker.network.bridge.name=${bridge}`, net);
    assert.equal(created.status, 0, created.stderr);
    assert.equal(bridgeState(bridge).up, true, 'the network brings the bridge up while it exists');
    const removed = tsnet('rm', net);
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(bridgeState(bridge), found, 'rm leaves it down, as found');
    const broken = tsnetWithBrokenNft(fakeBin, 'create', '--subnet', '172.16.75.0/24', '-o', `com.docker.network.bridge.name=${bridge}`, `adopt2-${run}`);
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stderr, /^tsnet: .*nft.*Operation not permitted/);
    assert.deepEqual(bridgeState(bridge), found, 'the undo of the failed create leaves it down, as found');
  });

  it('removes a bridge it created, on rm and on the undo of a failed create', async () => {
    const kernelBefore = await snapshot();
    const keysBefore = storeKeys();
    const failed = tsnetWithBrokenNft(fakeBin, 'create', '--subnet', '172.16.73.0/24', '-o', `com.docker.network.bridge.name=${own}`, `ownfail-${run}`);
    assert.equal(failed.status, 1, failed.stderr);
    assert.deepEqual(bridgeState(own), { exists: false });
    assert.deepEqual(await snapshot(), kernelBefore, 'kernel unchanged');
    assert.deepEqual(storeKeys(), keysBefore, 'store unchanged');
    const net = `own-${run}`;
    assert.equal(tsnet('create', '--subnet', '172.16.73.0/24', '-o', `com.docker.network.bridge.name=${own}`, net).status, 0);
    assert.deepEqual(bridgeState(own), { exists: true, up: true, addrs: ['172.16.73.1/24'], routes: ['172.16.73.0/24'] });
    assert.equal(tsnet('rm', net).status, 0);
    assert.deepEqual(bridgeState(own), { exists: false });
  });
});
