/**
 * Debian's real podman (4.3) on its CNI backend, with tsnet-cni in the bridge plugin's place and a
 * conflist that has no tsnet-specific key: two containers talk by address, container name, alias
 * and short id (the embedded resolver is on by default; the chained `dnsname` step is podman's own
 * convention for "this network has DNS"), `-p` answers from the host and from an outside namespace,
 * and `podman rm -f` then `podman network rm` leave no link, address, namespace, rule, record or
 * CNI cache entry behind.
 */
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tsnet } from '../../helpers/cli';
import { snapshot, type KernelSnapshot } from '../../helpers/kernel-state';
import { buildBusyboxImage, PAGE } from '../../helpers/oci-image';
import { createOutside, type Outside } from '../../helpers/outside';
import { Podman } from '../../helpers/podman';

const RUN = process.pid.toString(36);
const NET = `pc-${RUN}`;
const BRIDGE = `pc${RUN}`.slice(0, 15);
const IMAGE = 'localhost/tsnet-busybox:test';
const SRV = `srv-${RUN}`, ALIAS = `web-${RUN}`;
const HOST_PORT = 18080;
const BUILD = path.join(__dirname, '..', '..', '..');

/** The reference bridge plugin's keys and the spec's: everything the conflist below may use. */
const ALLOWED_KEYS = new Set(['type', 'bridge', 'isGateway', 'isDefaultGateway', 'ipMasq', 'hairpinMode', 'mtu', 'ipam', 'capabilities', 'domainName']);

/** What podman's CNI backend writes for a bridge network with DNS, with tsnet-cni as its first plugin. */
const CONFLIST = {
  cniVersion: '1.0.0',
  name: NET,
  plugins: [
    {
      type: 'tsnet-cni', bridge: BRIDGE, isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.141.0.0/24', gateway: '10.141.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
      capabilities: { portMappings: true, ips: true, mac: true, aliases: true },
    },
    { type: 'dnsname', domainName: 'dns.podman', capabilities: { aliases: true } },
  ],
};

/** Runs a command and resolves with its stdout, or 'error: …' (never rejects). */
function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, { encoding: 'utf8', timeout: 20000 }, (err, out, errOut) => resolve(err ? `error: ${errOut || err.message}` : out)));
}

/** The firewall as text, without counters (traffic changes them, not the rules). */
function ruleset(): string {
  return execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).replace(/ counter packets \d+ bytes \d+/g, '');
}

describe('podman on its CNI backend, with tsnet-cni', function () {
  this.timeout(300000);
  let podman: Podman | undefined;
  let outside: Outside | undefined;
  let tmp = '';
  let kernelBefore: KernelSnapshot, rulesBefore = '', conflist = '';

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-podman-cni-'));
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    // As a user installs it: tsnet-cni, and the same plugin under podman's DNS plugin name.
    for (const extra of [[], ['--name', 'dnsname']]) execFileSync(process.execPath, [path.join(BUILD, 'plugins', 'cni', 'main.js'), 'install', bin, ...extra]);
    outside = await createOutside(`pc${RUN}`.slice(0, 10));
    podman = await Podman.start({ backend: 'cni', tag: RUN, cniPluginDirs: [bin, '/usr/lib/cni'] });
    await podman.importImage(buildBusyboxImage(path.join(tmp, 'image')).layerTar, IMAGE);
    assert.equal(tsnet('ls', '-q').status, 0); // predefined networks first, so the snapshots compare like with like
    kernelBefore = await snapshot();
    rulesBefore = ruleset();
    for (const plugin of CONFLIST.plugins) assert.deepEqual(Object.keys(plugin).filter((k) => !ALLOWED_KEYS.has(k)), [], 'no tsnet-specific key');
    conflist = podman.writeConflist(NET, CONFLIST);
  });
  after(async () => {
    await podman?.cleanup();
    await outside?.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs two containers that talk by address, container name, alias and short id', async () => {
    const p = podman!;
    assert.match(await p.must(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), new RegExp(`^${NET} tsnet-cni$`, 'm'));
    await p.must(['run', '--cgroup-parent', p.cgroupParent, '-d', '--name', SRV, '--network', NET, '--network-alias', ALIAS, '--ip', '10.141.0.50',
      '-p', `${HOST_PORT}:80`, IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www']);
    const id = (await p.must(['inspect', '--format', '{{.Id}}', SRV])).trim();
    assert.match(await p.must(['exec', SRV, 'cat', '/etc/resolv.conf']), /^nameserver 127\.0\.0\.11$/m);
    assert.match(tsnet('sandbox', 'ls').stdout, new RegExp(`\\b${SRV}\\b.*10\\.141\\.0\\.50`), 'the sandbox carries the container name');
    // busybox-static's wget crashes with -T: timeout(1) bounds it instead.
    const fetches = ['10.141.0.50', SRV, ALIAS, id.slice(0, 12)].map((host) => `timeout 5 wget -qO- http://${host}/ || echo "failed: ${host}"`).join('; ');
    const r = await p.run(['--rm', '--name', `cli-${RUN}`, '--network', NET, IMAGE, 'sh', '-c', fetches]);
    assert.equal(r.code, 0, r.stderr);
    const why = async () => `${await p.must(['ps', '-a'])}\n${(await p.exec(['logs', SRV])).stderr}\n${await p.must(['exec', SRV, 'ip', 'addr'])}\n${await p.must(['exec', SRV, 'ip', 'route'])}`;
    if (r.stdout !== PAGE.repeat(4)) assert.fail(`${r.stdout}\n${await why()}`);
  });

  it('publishes -p through tsnet: reachable from the host and from an outside namespace', async () => {
    assert.equal(await sh('timeout', ['5', 'busybox', 'wget', '-qO-', `http://127.0.0.1:${HOST_PORT}/`]), PAGE);
    assert.equal(await sh('ip', ['netns', 'exec', path.basename(outside!.key), 'timeout', '5', 'busybox', 'wget', '-qO-', `http://${outside!.hostIp}:${HOST_PORT}/`]), PAGE);
  });

  it('podman rm -f and podman network rm leave nothing', async () => {
    const p = podman!;
    await p.must(['rm', '-f', '-t', '0', SRV]);
    await p.must(['network', 'rm', NET]);
    assert.equal(fs.existsSync(conflist), false);
    assert.equal(tsnet('sandbox', 'ls', '-q').stdout.trim(), '');
    assert.doesNotMatch(tsnet('ls').stdout, new RegExp(`\\b${NET}\\b`));
    assert.deepEqual(await snapshot(), kernelBefore);
    assert.equal(ruleset(), rulesBefore);
    assert.deepEqual(p.cniCache(), []);
    await p.removeCgroups();
    assert.deepEqual(p.cgroupsLeft(), []);
  });
});
