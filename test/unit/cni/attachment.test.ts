/** The ADD result from an attachment's kernel state, and an existing network checked against a config. */
import { strict as assert } from 'node:assert';
import { describeAttachment } from '../../../plugins/cni/add';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import { networkPlan, parseNetConf } from '../../../plugins/cni/config';
import { checkCompatible } from '../../../plugins/cni/network';
import type { AttachmentState, Endpoint, Network } from '../../../src/index';

const NETNS = '/run/netns/c1';

/** A bridge network record as the controller keeps it. */
function bridgeNetwork(over: Partial<Network> = {}): Network {
  return {
    id: 'a'.repeat(64), name: 'n1', driver: 'bridge', scope: 'local', created: '2026-01-01T00:00:00Z', ipv6: true, internal: false,
    options: { 'com.docker.network.bridge.name': 'cni9', 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.driver.mtu': '1400' },
    labels: {},
    ipam: [{ poolId: 'p4', subnet: '10.9.0.0/24', gateway: '10.9.0.1' }, { poolId: 'p6', subnet: 'fd09::/64', gateway: 'fd09::1' }],
    info: { device: 'cni9', firewall: { masquerade: true, icc: true }, publishes: true, dns: true, staticAddresses: true, engineEndpoints: true, mtu: 1400, claims: { 'dev:cni9': 'exclusive' } },
    driverData: { createdBridge: true, addedAddresses: '' },
    ...over,
  };
}

const endpoint: Endpoint = {
  id: 'e'.repeat(64), name: 'cni-c1', networkId: 'a'.repeat(64), sandboxId: 's'.repeat(64), ifname: 'eth0', hostVeth: 'veth1234567',
  ipv4: '10.9.0.2/24', ipv6: 'fd09::2/64', aliases: [], ports: [], created: '2026-01-01T00:00:00Z',
};

const state: AttachmentState = {
  hostInterfaces: [
    { name: 'cni9', mac: '02:00:00:00:00:09', mtu: 1400, up: true },
    { name: 'veth1234567', mac: '02:00:00:00:00:0a', mtu: 1400, up: true, master: 'cni9' },
  ],
  sandboxInterface: { name: 'eth0', mac: '02:42:0a:09:00:02', mtu: 1400, up: true, addresses: ['10.9.0.2/24', 'fd09::2/64', 'fe80::1/64'] },
  routes: [
    { family: 4, gateway: '10.9.0.1' },
    { family: 4, dst: '10.9.0.0/24' },
    { family: 4, dst: '192.0.2.0/24', gateway: '10.9.0.1' },
    { family: 6, dst: 'fd09::/64' },
    { family: 6, dst: 'fe80::/64' },
    { family: 6, gateway: 'fd09::1' },
  ],
};

const invalidConfig = (re: RegExp) => (e: unknown) => e instanceof CniError && e.code === CniCode.InvalidNetworkConfig && re.test(e.message);

describe('cni attachment result', () => {
  it('lists the bridge, the host veth, then the container interface, which the addresses point at', () => {
    const r = describeAttachment({ state, net: bridgeNetwork(), ep: endpoint, netns: NETNS, routes: [] });
    assert.deepEqual(r.interfaces, [
      { name: 'cni9', mac: '02:00:00:00:00:09', mtu: 1400 },
      { name: 'veth1234567', mac: '02:00:00:00:00:0a', mtu: 1400 },
      { name: 'eth0', mac: '02:42:0a:09:00:02', mtu: 1400, sandbox: NETNS },
    ]);
    assert.deepEqual(r.ips, [{ address: '10.9.0.2/24', gateway: '10.9.0.1', interface: 2 }, { address: 'fd09::2/64', gateway: 'fd09::1', interface: 2 }]);
    assert.deepEqual(r.dns, {});
  });

  it('reports the default routes and the config\'s routes, not the kernel\'s subnet routes', () => {
    const r = describeAttachment({ state, net: bridgeNetwork(), ep: endpoint, netns: NETNS, routes: [{ dst: '192.0.2.0/24' }] });
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.9.0.1' }, { dst: '192.0.2.0/24', gw: '10.9.0.1' }, { dst: '::/0', gw: 'fd09::1' }]);
    const without = describeAttachment({ state, net: bridgeNetwork(), ep: endpoint, netns: NETNS, routes: [] });
    assert.deepEqual(without.routes, [{ dst: '0.0.0.0/0', gw: '10.9.0.1' }, { dst: '::/0', gw: 'fd09::1' }]);
  });

  it('has only the container interface on a network without host devices (macvlan)', () => {
    const net = bridgeNetwork({ driver: 'macvlan', info: { publishes: false, dns: true, staticAddresses: true, engineEndpoints: false, claims: {} } });
    const r = describeAttachment({ state: { ...state, hostInterfaces: [] }, net, ep: { ...endpoint, hostVeth: undefined }, netns: NETNS, routes: [] });
    assert.deepEqual(r.interfaces.map((i) => i.name), ['eth0']);
    assert.deepEqual(r.ips.map((ip) => ip.interface), [0, 0]);
  });

  it('fails when the container interface is gone', () => {
    assert.throws(() => describeAttachment({ state: { ...state, sandboxInterface: undefined }, net: bridgeNetwork(), ep: endpoint, netns: NETNS, routes: [] }), /link eth0: does not exist/);
  });
});

describe('cni network compatibility', () => {
  const plan = (over: object = {}) => networkPlan(parseNetConf({ cniVersion: '1.1.0', name: 'n1', type: 'tsnet-cni', bridge: 'cni9', mtu: 1400, ipMasq: true, ipam: { subnet: '10.9.0.0/24' }, ...over }));

  it('accepts a network made from the same config, and one the config says less about', () => {
    checkCompatible(bridgeNetwork(), plan());
    checkCompatible(bridgeNetwork(), plan({ bridge: undefined, mtu: undefined, ipMasq: undefined, ipam: undefined }));
  });

  const differences: [string, object, RegExp][] = [
    ['bridge', { bridge: 'cni8' }, /^invalid network config: network n1 exists with bridge cni9, the config asks for cni8$/],
    ['mtu', { mtu: 1500 }, /exists with mtu 1400, the config asks for 1500$/],
    ['ipMasq', { ipMasq: false }, /exists with ipMasq true, the config asks for false$/],
    ['subnets', { ipam: { subnet: '10.8.0.0/24' } }, /exists with subnets 10\.9\.0\.0\/24,fd09::\/64, the config asks for 10\.8\.0\.0\/24$/],
    ['driver', { driver: 'macvlan', bridge: undefined, mtu: undefined, ipMasq: undefined }, /exists with driver bridge, the config asks for macvlan$/],
  ];
  for (const [what, over, re] of differences) it(`refuses a different ${what} (code 7)`, () => assert.throws(() => checkCompatible(bridgeNetwork(), plan(over)), invalidConfig(re)));

  it('refuses a host or null network named by "network"', () => {
    const attach = networkPlan(parseNetConf({ cniVersion: '1.1.0', name: 'x', type: 'tsnet-cni', network: 'host' }));
    assert.throws(() => checkCompatible(bridgeNetwork({ name: 'host', driver: 'host' }), attach), invalidConfig(/gives the container no interface of its own/));
  });

  it('compares only driver and subnets for a macvlan network', () => {
    const net = bridgeNetwork({ driver: 'macvlan', options: { parent: 'eth0' }, info: { publishes: false, dns: true, staticAddresses: true, engineEndpoints: false, claims: { 'parent:eth0': 'macvlan' } } });
    checkCompatible(net, plan({ driver: 'macvlan', bridge: undefined, mtu: undefined, ipMasq: undefined }));
  });
});
