/**
 * Debian's podman 4.3 on its netavark backend with tsnet-netavark as `netavark`: networks, containers
 * talking by address, name, alias and name.dns.podman, --ip, -p from the host and from outside,
 * network connect/disconnect, and removal leaving nothing, kernel and store alike.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { containerRecords } from '../../../plugins/netavark/records';
import { Controller } from '../../../src/index';
import { snapshot, type KernelSnapshot } from '../../helpers/kernel-state';
import { createOutside, type Outside } from '../../helpers/outside';
import { createPodmanHost, exec, type PodmanHost } from '../../helpers/podman';

const TAG = process.pid.toString(36);
const NET = `pn-${TAG}`;
const NET2 = `pn2-${TAG}`;
const SUBNET = '10.89.77.0/24';
const SUBNET2 = '10.89.78.0/24';
const PORT = 18000 + (process.pid % 1000);

/** tsnet's view: podman's networks and sandboxes, read from the store the helper uses. */
async function tsnetView(): Promise<{ networks: string[]; sandboxes: string[]; records: number }> {
  const c = await Controller.open({ readOnly: true });
  try {
    const networks = (await c.listNetworks()).map((n) => n.name).filter((n) => !['bridge', 'host', 'none'].includes(n));
    const sandboxes = (await c.listSandboxes()).map((s) => s.name);
    return { networks, sandboxes, records: (await containerRecords(c).list()).length };
  } finally {
    await c.close();
  }
}

/** What the firewall holds, as text. */
const ruleset = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });

/** HTTP GET with busybox wget from a namespace ('' = here); "" when it fails. */
async function httpGet(nsPath: string, url: string): Promise<string> {
  const argv = ['busybox', 'timeout', '5', 'busybox', 'wget', '-qO-', url];
  const r = nsPath ? await exec('nsenter', [`--net=${nsPath}`, '--', ...argv]) : await exec(argv[0], argv.slice(1));
  return r.code ? '' : r.stdout;
}

describe('podman on tsnet-netavark', function () {
  // Real podman runs: image import, container starts, 5 s wget timeouts on purpose.
  this.timeout(300_000);
  let host: PodmanHost;
  let outside: Outside;
  let initial: KernelSnapshot;

  before(async function () {
    // The predefined networks exist before the first container, so the snapshot is what must be left at the end.
    await (await Controller.open()).close();
    outside = await createOutside(`pn${TAG}`.slice(0, 10));
    initial = await snapshot();
    host = await createPodmanHost({ backend: 'tsnet', tag: TAG });
  });

  after(async function () {
    await host?.close();
    await outside?.remove();
  });

  it('network create only writes podman\'s file: the tsnet network comes with the first container', async function () {
    await host.must(['network', 'create', '--subnet', SUBNET, NET]);
    assert.deepEqual((await tsnetView()).networks, []);
  });

  it('runs containers that reach each other by address, --ip, name, alias and name.dns.podman', async function () {
    await host.run(['-d', '--name', 'srv', '--network', NET, '--network-alias', 'web', '--ip', '10.89.77.10', '-p', `${PORT}:80`, host.image, 'httpd', '-f', '-p', '80', '-h', '/www']);
    const probe = 'for u in 10.89.77.10 srv web srv.dns.podman; do timeout 5 wget -qO- http://$u/ || echo "failed $u"; done; cat /etc/resolv.conf; ip -4 addr show eth0';
    const out = (await host.run(['--rm', '--name', 'cli1', '--network', NET, host.image, 'sh', '-c', probe])).stdout;
    assert.equal(out.match(/hello from podman/g)?.length, 4, out);
    assert.match(out, /^search dns\.podman$/m);
    assert.match(out, /^nameserver 127\.0\.0\.11$/m);
    assert.match(out, /inet 10\.89\.77\.\d+\/24/);
    const view = await tsnetView();
    assert.deepEqual(view.networks, [NET]);
    assert.deepEqual(view.sandboxes, ['srv']);
    const ls = execFileSync(process.execPath, [require.resolve('../../../src/cli/main.js'), 'sandbox', 'ls'], { encoding: 'utf8' });
    assert.match(ls, /srv\s+private\s+10\.89\.77\.10/);
  });

  it('publishes -p to the host and to an outside namespace', async function () {
    assert.equal(await httpGet('', `http://127.0.0.1:${PORT}/`), 'hello from podman\n');
    assert.equal(await httpGet(outside.key, `http://${outside.hostIp}:${PORT}/`), 'hello from podman\n');
  });

  it('tears down on stop and sets up again on start, in the new namespace', async function () {
    await host.must(['stop', '-t', '0', 'srv']);
    assert.deepEqual((await tsnetView()).sandboxes, [], 'stop tears the container down');
    await host.must(['start', 'srv']);
    const out = (await host.run(['--rm', '--network', NET, host.image, 'sh', '-c', 'timeout 5 wget -qO- http://web/'])).stdout;
    assert.equal(out, 'hello from podman\n');
    assert.equal(await httpGet('', `http://127.0.0.1:${PORT}/`), 'hello from podman\n');
  });

  it('serves no names on podman\'s default network (dns_enabled false)', async function () {
    const out = (await host.run(['--rm', '--network', 'podman', host.image, 'sh', '-c', 'cat /etc/resolv.conf; ip -4 addr show eth0'])).stdout;
    assert.doesNotMatch(out, /127\.0\.0\.11|dns\.podman/);
    assert.match(out, /inet 10\.88\.\d+\.\d+\/16/);
    assert.deepEqual((await tsnetView()).networks, [NET], 'the default network goes with its last container');
  });

  it('connects and disconnects a running container, repeating its ports without a conflict', async function () {
    await host.must(['network', 'create', '--subnet', SUBNET2, NET2]);
    await host.run(['-d', '--name', 'srv2', '--network', NET2, host.image, 'httpd', '-f', '-p', '80', '-h', '/www']);
    await host.run(['-d', '--name', 'cli', '--network', NET, host.image, 'sleep', '600']);
    assert.equal((await host.must(['exec', 'cli', 'sh', '-c', 'timeout 5 wget -qO- http://srv2/ || echo unreachable'])).stdout.trim(), 'unreachable');
    await host.must(['network', 'connect', '--alias', 'c2', NET2, 'cli']);
    await host.must(['network', 'connect', NET2, 'srv']);
    const out = (await host.must(['exec', 'cli', 'sh', '-c', 'timeout 5 wget -qO- http://srv2/; ip -4 addr show eth1'])).stdout;
    assert.match(out, /hello from podman/);
    assert.match(out, /inet 10\.89\.78\.\d+\/24/);
    assert.equal(await httpGet('', `http://127.0.0.1:${PORT}/`), 'hello from podman\n', 'srv keeps its port after connect');
    await host.must(['network', 'disconnect', NET2, 'cli']);
    assert.equal((await host.must(['exec', 'cli', 'sh', '-c', 'ip link show eth1 >/dev/null 2>&1 && echo present || echo gone'])).stdout.trim(), 'gone');
    await host.must(['network', 'disconnect', NET2, 'srv']);
  });

  it('sets up dual-stack networks: podman\'s IPv6 address, reachable by name', async function () {
    const v6 = `v6-${TAG}`;
    await host.must(['network', 'create', '--ipv6', '--subnet', '10.89.79.0/24', '--subnet', 'fd00:89:79::/64', v6]);
    await host.run(['-d', '--name', 'srv6', '--network', v6, '--ip6', 'fd00:89:79::10', host.image, 'httpd', '-f', '-p', '80', '-h', '/www']);
    const out = (await host.run(['--rm', '--network', v6, host.image, 'sh', '-c', 'ip -6 addr show eth0 scope global; timeout 5 wget -qO- http://[fd00:89:79::10]/; nslookup -type=aaaa srv6 127.0.0.11'])).stdout;
    assert.match(out, /inet6 fd00:89:79::[0-9a-f]+\/64/);
    assert.match(out, /hello from podman/);
    assert.match(out, /fd00:89:79::10/);
    await host.must(['rm', '-f', '-t', '0', 'srv6']);
    await host.must(['network', 'rm', v6]);
  });

  it('puts a container on a macvlan network (the outside uplink as parent) that reaches the outside directly', async function () {
    const mv = `mv-${TAG}`;
    const uplink = `up-pn${TAG}`.slice(0, 15);
    // A LAN of its own on the outside's wire: tsnet refuses a subnet that overlaps a host route (198.51.100.0/24 is the uplink's).
    execFileSync('nsenter', [`--net=${outside.key}`, '--', 'ip', 'addr', 'add', '198.51.101.2/24', 'dev', 'eth0']);
    await host.must(['network', 'create', '-d', 'macvlan', '-o', `parent=${uplink}`, '--subnet', '198.51.101.0/24', '--gateway', '198.51.101.2', mv]);
    const out = (await host.run(['--rm', '--network', mv, '--ip', '198.51.101.77', host.image, 'sh', '-c', 'ping -c1 -W2 198.51.101.2 >/dev/null && echo reached; ip -4 addr show eth0; cat /etc/resolv.conf'])).stdout;
    assert.match(out, /^reached$/m);
    assert.match(out, /inet 198\.51\.101\.77\/24/);
    assert.doesNotMatch(out, /127\.0\.0\.11/, 'netavark 1.4 serves no names on macvlan');
    await host.must(['network', 'rm', mv]);
    assert.ok(!(await tsnetView()).networks.includes(mv), 'the macvlan network goes with its last container');
  });

  it('podman rm -f and network rm leave nothing', async function () {
    await host.must(['rm', '-f', '-t', '0', 'srv', 'srv2', 'cli']);
    await host.must(['network', 'rm', NET, NET2]);
    assert.deepEqual(await tsnetView(), { networks: [], sandboxes: [], records: 0 });
    const after = await snapshot();
    assert.deepEqual(after.links, initial.links);
    assert.deepEqual(after.addrs, initial.addrs);
    assert.doesNotMatch(ruleset(), /podman\d|10\.89\.7[78]\./);
    assert.equal(await httpGet('', `http://127.0.0.1:${PORT}/`), '');
  });
});
