/**
 * Chaining with the Debian reference plugins (/usr/lib/cni, spec up to 1.0.0): tsnet-cni first with
 * portmap, tuning, firewall and bandwidth consuming its result; and tsnet-cni after loopback,
 * appending to that plugin's result. ADD, CHECK and DEL run over the list as libcni runs them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { tsnet } from '../../helpers/cli';
import { snapshot } from '../../helpers/kernel-state';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';
import { ipIn, RUN, Scratch } from './harness';
import { binDirs, haveReferencePlugins } from './plugin';
import { type Attachment, type ConfList, runList } from './runtime';

const NET = `cni-ch-${RUN}`;
const BRIDGE = `cch${RUN}`.slice(0, 15);
const TUNED_MAC = 'c2:b0:57:49:47:f1';

describe('tsnet-cni in a chain with the reference plugins', function () {
  this.timeout(60000);
  const s = new Scratch();
  before(function () {
    if (!haveReferencePlugins()) this.skip();
  });
  afterEach(() => s.cleanup());

  const first: ConfList = {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [
      { type: 'tsnet-cni', bridge: BRIDGE, ipMasq: true, ipam: { type: 'host-local', subnet: '10.133.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'tuning', mac: TUNED_MAC, sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
      { type: 'firewall', backend: 'iptables' },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };

  it('comes first: portmap, tuning, firewall and bandwidth build on its result; CHECK and DEL run over the chain', async () => {
    const dirs = await binDirs();
    s.network(NET);
    assert.equal(tsnet('ls', '-q').status, 0); // predefined networks first, so the snapshots compare like with like
    const before = await snapshot();
    const att: Attachment = {
      containerId: `chain-${RUN}`, netns: s.netns(`cch1-${RUN}`), ifname: 'eth0',
      runtimeConfig: { portMappings: [{ hostPort: 18100, containerPort: 8080, protocol: 'tcp' }], bandwidth: { ingressRate: 8000000, ingressBurst: 80000, egressRate: 8000000, egressBurst: 80000 } },
    };
    const add = await runList(first, 'ADD', att, dirs);
    assert.ok(add.ok, `${add.failedPlugin}: ${JSON.stringify(add.error)}`);
    const result = add.result as any;
    const eth0 = result.interfaces.find((i: any) => i.name === 'eth0' && i.sandbox);
    assert.equal(eth0.mac, TUNED_MAC, 'tuning changed the MAC and the result says so');
    assert.match(ipIn(`cch1-${RUN}`, 'link', 'show', 'eth0'), new RegExp(TUNED_MAC));
    assert.equal(ipIn(`cch1-${RUN}`, '-j', 'addr', 'show', 'eth0').includes('10.133.0.2'), true);
    const hostVeth = result.interfaces[1].name;
    assert.match(execFileSync('tc', ['qdisc', 'show', 'dev', hostVeth], { encoding: 'utf8' }), /tbf/, 'bandwidth shaped the host veth');
    assert.match(execFileSync('iptables', ['-S', 'CNI-FORWARD'], { encoding: 'utf8' }), /10\.133\.0\.2/, 'firewall plugin admitted the address');
    const server = await startEchoServer(att.netns, 8080);
    try {
      assert.equal(await tcpExchange('', '10.133.0.1', 18100, 'portmap'), 'echo:portmap', 'portmap DNATs the host port to the container');
    } finally {
      server.stop();
    }
    // portmap 1.1.1's CHECK looks for ip6tables rules it never made for an IPv4-only container
    // (containernetworking/plugins#819), so CHECK runs over the rest of the chain.
    const checkable = { ...first, plugins: first.plugins.filter((p) => p.type !== 'portmap') };
    const check = await runList(checkable, 'CHECK', att, dirs);
    assert.ok(check.ok, `${check.failedPlugin}: ${JSON.stringify(check.error)}`);
    const del = await runList(first, 'DEL', att, dirs);
    assert.ok(del.ok, `${del.failedPlugin}: ${JSON.stringify(del.error)}`);
    const after = await snapshot();
    assert.deepEqual(after.links.filter((l) => !before.links.includes(l)).filter((l) => l !== BRIDGE && !l.startsWith('ifb')), []);
    assert.doesNotMatch(execFileSync('iptables-save', { encoding: 'utf8' }), /10\.133\.0\.2/);
    // A second DEL of the whole chain (the runtime retrying) succeeds too.
    att.result = add.result;
    assert.ok((await runList(first, 'DEL', att, dirs)).ok);
  });

  it('comes after loopback: keeps that plugin\'s result and appends its own interfaces', async () => {
    const dirs = await binDirs();
    s.network(`${NET}b`);
    const list: ConfList = { cniVersion: '1.0.0', name: `${NET}b`, plugins: [{ type: 'loopback' }, { type: 'tsnet-cni', ipam: { subnet: '10.134.0.0/24' } }] };
    const att: Attachment = { containerId: `after-${RUN}`, netns: s.netns(`cch2-${RUN}`), ifname: 'eth0' };
    const add = await runList(list, 'ADD', att, dirs);
    assert.ok(add.ok, `${add.failedPlugin}: ${JSON.stringify(add.error)}`);
    const result = add.result as any;
    assert.equal(result.interfaces[0].name, 'lo');
    const mine = result.interfaces.findIndex((i: any) => i.name === 'eth0');
    assert.equal(mine, result.interfaces.length - 1);
    assert.ok(result.ips.some((ip: any) => ip.address.startsWith('127.0.0.1/') && ip.interface === 0));
    assert.ok(result.ips.some((ip: any) => ip.address === '10.134.0.2/24' && ip.interface === mine));
    assert.ok((await runList(list, 'CHECK', att, dirs)).ok);
    assert.ok((await runList(list, 'DEL', att, dirs)).ok);
    assert.doesNotMatch(ipIn(`cch2-${RUN}`, '-br', 'link'), /eth0/);
  });
});
