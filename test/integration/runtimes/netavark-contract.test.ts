/**
 * tsnet-netavark exec'd as podman execs it (installed helper, podman's argv, a minimal environment):
 * the bad-input corpus answered in netavark's error shape with nothing changed, a setup failing on
 * its second network undoing the first, teardown idempotent and finding its state without the
 * caller's TSNET_STATE_DIR.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { helperTarget, placeHelper, writeHelper } from '../../../plugins/netavark/install';
import { Controller } from '../../../src/index';
import { snapshot } from '../../helpers/kernel-state';
import { exec } from '../../helpers/podman';

const TAG = process.pid.toString(36);
const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'netavark');
/** The firewall as text, without counters (-s): other tests' rules in the same private host count traffic meanwhile. */
const ruleset = () => execFileSync('nft', ['-s', 'list', 'ruleset'], { encoding: 'utf8' });

/** Everything a call could change: store, links, addresses, firewall. */
async function world(): Promise<string> {
  const c = await Controller.open({ readOnly: true });
  try {
    const nets = (await c.listNetworks()).map((n) => `${n.name}:${n.ipam.map((p) => p.subnet).join(',')}`);
    const sbs = (await c.listSandboxes()).map((s) => s.name);
    const k = await snapshot();
    return JSON.stringify({ nets, sbs, links: k.links, addrs: k.addrs, rules: ruleset() }, null, 1);
  } finally {
    await c.close();
  }
}

/** Options for container name on the given networks (name → [bridge, subnet, ip]). */
function options(name: string, nets: Record<string, [string, string, string]>): string {
  const id = Buffer.from(name.padEnd(32, '0')).toString('hex').slice(0, 64);
  const networks: Record<string, unknown> = {};
  const info: Record<string, unknown> = {};
  Object.entries(nets).forEach(([net, [bridge, subnet, ip]], i) => {
    networks[net] = { static_ips: [ip], aliases: [id.slice(0, 12)], interface_name: `eth${i}` };
    info[net] = {
      name: net, id: Buffer.from(net.padEnd(32, 'x')).toString('hex').slice(0, 64), driver: 'bridge', network_interface: bridge,
      subnets: [{ subnet, gateway: subnet.replace(/0\/24$/, '1') }], ipv6_enabled: false, internal: false, dns_enabled: true, ipam_options: { driver: 'host-local' },
    };
  });
  return JSON.stringify({ container_id: id, container_name: name, networks, network_info: info });
}

describe('tsnet-netavark exec\'d as podman does', function () {
  // The corpus through node costs ~35 node starts; a shared machine makes that slow.
  this.timeout(300_000);
  let dir: string;
  let helper: string;
  let nodeHelper: string;
  const namespaces: string[] = [];

  /** A namespace as podman makes one (a bind mount under /run/netns), loopback down. */
  function netns(name: string): string {
    execFileSync('ip', ['netns', 'add', name]);
    namespaces.push(name);
    return `/run/netns/${name}`;
  }

  /** Runs the helper with podman's argv; env is all it gets (podman's cleanup passes little). */
  const call = (verb: 'setup' | 'teardown', ns: string, stdin: string, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }, file = helper) =>
    exec(file, ['--config', '/run/containers/networks', '--rootless=false', '--aardvark-binary=', verb, ns], { env, input: stdin });

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netavark-helper-'));
    // As installed: the exec shim (the daemon's socket, node when it does not take a call), and the node helper alone.
    const placed = placeHelper(dir, 'netavark', process.env.TSNET_STATE_DIR!, { entry: await helperTarget() });
    assert.equal(placed.kind, 'shim', 'a C compiler is installed by scripts/setup.sh');
    helper = placed.file;
    nodeHelper = writeHelper(dir, 'netavark-unbundled', process.env.TSNET_STATE_DIR!);
  });

  after(function () {
    for (const ns of namespaces) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const via of ['the node helper, no daemon running', 'the shim and the daemon it starts'] as const) {
    it(`answers every bad input with {"error"} on stdout, exit 1, and changes nothing (${via})`, async function () {
      await badInputs(via.startsWith('the node') ? nodeHelper : helper);
    });
  }

  /** The corpus through one executable. */
  async function badInputs(exe: string): Promise<void> {
    const ns = netns(`bad-${TAG}-${namespaces.length}`);
    const before = await world();
    for (const file of fs.readdirSync(path.join(FIXTURES, 'invalid')).sort()) {
      const c = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'invalid', file), 'utf8')) as { error: string; stdin: unknown };
      const r = await call('setup', ns, typeof c.stdin === 'string' ? c.stdin : JSON.stringify(c.stdin), undefined, exe);
      assert.equal(r.code, 1, `${file}: exit ${r.code}`);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `${file}: one line on stdout, got ${r.stdout}`);
      const { error } = JSON.parse(lines[0]) as { error: string };
      assert.ok(error.includes(c.error), `${file}: "${error}" should contain "${c.error}"`);
    }
    assert.equal(await world(), before);
  }

  it('undoes a setup that fails on its second network: podman never tears it down', async function () {
    const before = await world();
    const a = netns(`ua-${TAG}`);
    const b = netns(`ub-${TAG}`);
    const first = await call('setup', a, options('holder', { [`na-${TAG}`]: [`tna${TAG}`.slice(0, 15), '10.89.91.0/24', '10.89.91.10'] }));
    assert.equal(first.code, 0, first.stdout);
    const status = JSON.parse(first.stdout) as Record<string, { interfaces: Record<string, { subnets: { ipnet: string }[] }> }>;
    assert.equal(status[`na-${TAG}`].interfaces.eth0.subnets[0].ipnet, '10.89.91.10/24');
    const mid = await world();
    // Networks are set up in name order: m0 (new, fine) first, then na with holder's address, which fails.
    const failing = await call('setup', b, options('loser', {
      [`m0-${TAG}`]: [`tm0${TAG}`.slice(0, 15), '10.89.92.0/24', '10.89.92.5'],
      [`na-${TAG}`]: [`tna${TAG}`.slice(0, 15), '10.89.91.0/24', '10.89.91.10'],
    }));
    assert.equal(failing.code, 1, failing.stdout);
    assert.match((JSON.parse(failing.stdout) as { error: string }).error, /10\.89\.91\.10/);
    assert.equal(await world(), mid, 'the first network of the failed setup is gone again');
    const torn = await call('teardown', a, options('holder', { [`na-${TAG}`]: [`tna${TAG}`.slice(0, 15), '10.89.91.0/24', '10.89.91.10'] }), {});
    assert.deepEqual([torn.code, torn.stdout], [0, '']);
    assert.equal(await world(), before);
  });

  it('keeps its state dir whatever the environment says, and tears down twice without error', async function () {
    const before = await world();
    const ns = netns(`env-${TAG}`);
    const opts = options('envy', { [`ne-${TAG}`]: [`tne${TAG}`.slice(0, 15), '10.89.93.0/24', '10.89.93.7'] });
    const up = await call('setup', ns, opts, { PATH: process.env.PATH, TSNET_STATE_DIR: path.join(dir, 'elsewhere') });
    assert.equal(up.code, 0, up.stdout);
    assert.ok(!fs.existsSync(path.join(dir, 'elsewhere')), 'the caller\'s TSNET_STATE_DIR is not used');
    assert.match(await world(), /"envy"/);
    for (let i = 0; i < 2; i++) {
      const down = await call('teardown', ns, opts, { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
      assert.deepEqual([down.code, down.stdout], [0, '']);
    }
    assert.equal(await world(), before);
  });
});
