/** Config parsing: the schema and unsupported keys, the network plan, the attachment plan, GC's valid set. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import { attachmentPlan, checkStaticAddresses, CNI_LABEL, networkPlan, parseNetConf, resultDns, validAttachments, wantsEmbeddedDns } from '../../../plugins/cni/config';
import type { CniRequest } from '../../../plugins/cni/skel';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'cni');
const base = { cniVersion: '1.1.0', name: 'n1', type: 'tsnet-cni' };
const req = (args: [string, string][] = []): CniRequest => ({ command: 'ADD', containerId: 'c1', netns: '/run/netns/c1', ifname: 'eth0', args, path: [], cniVersion: '1.1.0', config: {} });
const code = (c: number, re?: RegExp) => (e: CniError) => e.code === c && (!re || re.test(e.message));

describe('cni config', () => {
  for (const file of fs.readdirSync(path.join(FIXTURES, 'valid'))) {
    it(`accepts valid/${file}`, () => {
      const conf = parseNetConf(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'valid', file), 'utf8')));
      const plan = networkPlan(conf);
      checkStaticAddresses(plan, attachmentPlan(conf, req(), plan.name));
    });
  }

  it('derives the network from the reference bridge keys', () => {
    const plan = networkPlan(parseNetConf({ ...base, bridge: 'cni9', mtu: 1400, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }], [{ subnet: 'fd09::/64' }]] } }));
    assert.equal(plan.name, 'n1');
    assert.equal(plan.hairpin, true);
    assert.deepEqual(plan.create, {
      name: 'n1', driver: 'bridge', ipv6: true, labels: { [CNI_LABEL]: 'true' },
      ipam: [{ subnet: '10.9.0.0/24' }, { subnet: 'fd09::/64' }],
      options: { 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.name': 'cni9', 'com.docker.network.driver.mtu': '1400' },
    });
  });

  it('masquerades only when ipMasq says so, as the reference bridge', () => {
    assert.equal(networkPlan(parseNetConf(base)).create!.options!['com.docker.network.bridge.enable_ip_masquerade'], 'false');
  });

  it('passes a non-bridge driver through with none of the bridge options', () => {
    const plan = networkPlan(parseNetConf({ ...base, driver: 'macvlan', ipam: { subnet: '10.9.0.0/24' } }));
    assert.deepEqual(plan.create, { name: 'n1', driver: 'macvlan', ipv6: false, labels: { [CNI_LABEL]: 'true' }, ipam: [{ subnet: '10.9.0.0/24' }], options: {} });
    assert.equal(networkPlan(parseNetConf({ ...base, driver: 'bridge' })).create!.options!['com.docker.network.bridge.enable_ip_masquerade'], 'false');
  });

  it('attaches to an existing network with "network", creating nothing', () => {
    const plan = networkPlan(parseNetConf({ ...base, network: 'mynet' }));
    assert.equal(plan.name, 'mynet');
    assert.equal(plan.create, undefined);
  });

  // Each row: config keys, whether the network serves names, the result's dns.
  const dnsCases: [string, object, boolean, object][] = [
    ['no DNS key at all: the resolver, on by default', {}, true, { nameservers: ['127.0.0.11'] }],
    ['the spec\'s dns block: 127.0.0.11 with its search and options', { dns: { nameservers: ['192.0.2.53'], search: ['corp.test'], options: ['ndots:2'], domain: 'corp.test' } }, true, { nameservers: ['127.0.0.11'], domain: 'corp.test', search: ['corp.test'], options: ['ndots:2'] }],
    ['embeddedDNS false: the spec block as it is', { embeddedDNS: false, dns: { nameservers: ['192.0.2.53'] } }, true, { nameservers: ['192.0.2.53'] }],
    ['embeddedDNS false and no block: no DNS', { embeddedDNS: false }, true, {}],
    ['a network that serves no names (the default bridge)', { dns: { nameservers: ['192.0.2.53'] } }, false, { nameservers: ['192.0.2.53'] }],
    ['the old boolean true', { dns: true }, true, { nameservers: ['127.0.0.11'] }],
    ['the old boolean false', { dns: false }, true, {}],
  ];
  for (const [what, over, served, want] of dnsCases) {
    it(`answers the result's dns for ${what}`, () => {
      const dns = resultDns(networkPlan(parseNetConf({ ...base, ...over })), served);
      assert.deepEqual(JSON.parse(JSON.stringify(dns)), want);
    });
  }

  it('wants the embedded resolver unless embeddedDNS (or the old dns) is false', () => {
    assert.equal(wantsEmbeddedDns(parseNetConf(base)), true);
    assert.equal(wantsEmbeddedDns(parseNetConf({ ...base, dns: { nameservers: ['192.0.2.53'] } })), true);
    assert.equal(wantsEmbeddedDns(parseNetConf({ ...base, embeddedDNS: false })), false);
    assert.equal(wantsEmbeddedDns(parseNetConf({ ...base, dns: false })), false);
  });

  it('makes the spec dns block the sandbox\'s upstreams and search, runtimeConfig.dns winning', () => {
    const spec = { dns: { nameservers: ['192.0.2.53'], search: ['corp.test'], options: ['ndots:2'] } };
    assert.deepEqual(attachmentPlan(parseNetConf({ ...base, ...spec }), req(), 'n1').dns, { servers: ['192.0.2.53'], search: ['corp.test'], options: ['ndots:2'] });
    const both = parseNetConf({ ...base, ...spec, runtimeConfig: { dns: { servers: ['198.51.100.1'] } } });
    assert.deepEqual(attachmentPlan(both, req(), 'n1').dns, { servers: ['198.51.100.1'], search: ['corp.test'], options: ['ndots:2'] });
  });

  // What reaches libcni as a plugin's NetConf: no tsnet key may be read by it as something else.
  it('uses no key the spec reserves for tsnet\'s own settings', () => {
    const reserved = ['cniVersion', 'cniVersions', 'name', 'type', 'disableCheck', 'disableGC', 'plugins', 'capabilities', 'ipMasq', 'ipam', 'dns', 'args', 'runtimeConfig', 'prevResult'];
    for (const key of ['embeddedDNS', 'network', 'driver']) assert.ok(!reserved.includes(key), key);
    assert.throws(() => parseNetConf({ ...base, embeddedDNS: 'no' }), code(CniCode.InvalidNetworkConfig, /\/embeddedDNS must be boolean/));
  });

  // Each row: CNI_ARGS, the container's name, the pod identity kept.
  const nameCases: [string, [string, string][], string | undefined, object | undefined][] = [
    ['podman: K8S_POD_NAME alone', [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'srv']], 'srv', { name: 'srv' }],
    ['Kubernetes: NAME.NAMESPACE', [['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', 'web-0'], ['K8S_POD_INFRA_CONTAINER_ID', 'abc'], ['K8S_POD_UID', 'u-1']], 'web-0.default', { name: 'web-0', namespace: 'default', uid: 'u-1', infraContainerId: 'abc' }],
    ['a name too long for a sandbox: named after the id', [['K8S_POD_NAME', 'x'.repeat(60)], ['K8S_POD_NAMESPACE', 'kube-system']], undefined, { name: 'x'.repeat(60), namespace: 'kube-system' }],
    ['no pod arguments', [], undefined, undefined],
  ];
  for (const [what, args, name, pod] of nameCases) {
    it(`names the container from CNI_ARGS: ${what}`, () => {
      const att = attachmentPlan(parseNetConf(base), req(args), 'n1');
      assert.equal(att.runtimeName, name);
      assert.deepEqual(att.pod, pod);
    });
  }

  it('takes runtimeConfig.ipRanges in place of the ipam ranges, as host-local', () => {
    const conf = parseNetConf({ ...base, ipam: { type: 'host-local', subnet: '10.3.0.0/24' }, runtimeConfig: { ipRanges: [[{ subnet: '10.8.0.0/24', rangeStart: '10.8.0.10', rangeEnd: '10.8.0.20' }]] } });
    const plan = networkPlan(conf);
    assert.deepEqual(plan.create!.ipam!.map((p) => p.subnet), ['10.8.0.0/24']);
    assert.deepEqual(plan.rangeSubnets, ['10.8.0.0/24']);
    assert.deepEqual(networkPlan(parseNetConf({ ...base, network: 'mynet', runtimeConfig: { ipRanges: [[{ subnet: '10.8.0.0/24' }]] } })).rangeSubnets, ['10.8.0.0/24']);
  });

  it('refuses runtimeConfig.bandwidth (code 2), naming the plugin to chain', () => {
    const conf = parseNetConf({ ...base, runtimeConfig: { bandwidth: { ingressRate: 1000, ingressBurst: 100 } } });
    assert.throws(() => attachmentPlan(conf, req(), 'n1'), code(CniCode.UnsupportedField, /chain the reference "bandwidth" plugin/));
  });

  it('accepts the capabilities it ignores: pod annotations, cgroupPath', () => {
    attachmentPlan(parseNetConf({ ...base, runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { a: 'b' }, cgroupPath: '/kubepods/x' } }), req(), 'n1');
  });

  const bad: [string, object, number, RegExp][] = [
    ['a name with a space', { name: 'a b' }, CniCode.InvalidNetworkConfig, /\/name must match/],
    ['mtu as a string', { mtu: '1500' }, CniCode.InvalidNetworkConfig, /\/mtu must be integer/],
    ['an unsupported vlan', { vlan: 10 }, CniCode.UnsupportedField, /vlan=10/],
    ['isGateway false', { isGateway: false }, CniCode.UnsupportedField, /isGateway=false/],
    ['network with a subnet', { network: 'x', ipam: { subnet: '10.0.0.0/24' } }, CniCode.InvalidNetworkConfig, /existing tsnet network/],
    ['the host driver', { driver: 'host' }, CniCode.InvalidNetworkConfig, /no interface of its own/],
    ['an unknown driver', { driver: 'overlay2' }, CniCode.InvalidNetworkConfig, /unknown driver/],
    ['dns as a string', { dns: '8.8.8.8' }, CniCode.InvalidNetworkConfig, /\/dns/],
    ['bridge keys with the macvlan driver', { driver: 'macvlan', bridge: 'br0', ipMasq: true }, CniCode.InvalidNetworkConfig, /bridge, ipMasq apply to the bridge driver only, not "macvlan"/],
    ['an mtu with the macvlan driver', { driver: 'macvlan', mtu: 1400 }, CniCode.InvalidNetworkConfig, /mtu applies to the bridge driver only/],
    ['hairpinMode with the macvlan driver', { driver: 'macvlan', hairpinMode: true }, CniCode.InvalidNetworkConfig, /hairpinMode applies to the bridge driver only/],
  ];
  for (const [what, over, c, re] of bad) it(`refuses ${what} (code ${c})`, () => assert.throws(() => parseNetConf({ ...base, ...over }), code(c, re)));

  it('accepts the defaults of unsupported keys and unknown extension keys', () => {
    parseNetConf({ ...base, vlan: 0, promiscMode: false, isGateway: true, vlanTrunk: [], 'io.example/extra': { any: 1 } });
  });

  it('accepts every registered driver that gives the container an interface, and the off values of bridge keys with them', () => {
    for (const driver of ['bridge', 'macvlan']) assert.equal(parseNetConf({ ...base, driver, ipMasq: false, hairpinMode: false }).driver, driver);
  });

  it('refuses a route of a family the network has no subnet of', () => {
    assert.throws(() => networkPlan(parseNetConf({ ...base, ipam: { routes: [{ dst: '::/0' }] } })), code(CniCode.InvalidNetworkConfig, /no IPv6 subnet/));
  });

  it('merges static addresses, MAC and aliases from runtimeConfig, args and CNI_ARGS', () => {
    const conf = parseNetConf({ ...base, args: { cni: { ips: ['fd00::5/64'] } }, runtimeConfig: { ips: ['10.0.0.5/24'], mac: '02:AA:00:00:00:01', aliases: { n1: ['web', 'web'], other: ['x'] } } });
    const att = attachmentPlan(conf, req([['IP', '10.0.0.5'], ['MAC', '02:aa:00:00:00:01']]), 'n1');
    assert.deepEqual(att, { ip: '10.0.0.5', ip6: 'fd00::5', mac: '02:aa:00:00:00:01', aliases: ['web'], dns: undefined, ports: [] });
  });

  it('maps portMappings to port requests and runtime DNS to sandbox DNS', () => {
    const conf = parseNetConf({ ...base, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }, { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' }], dns: { servers: ['1.1.1.1'], searches: ['a.test'] }, aliases: ['db'] } });
    const att = attachmentPlan(conf, req(), 'n1');
    assert.deepEqual(att.ports, [
      { protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080, hostPortEnd: 8080 },
      { protocol: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 53, hostPortEnd: 53 },
    ]);
    assert.deepEqual(att.dns, { servers: ['1.1.1.1'], search: ['a.test'], options: [] });
    assert.deepEqual(att.aliases, ['db']);
  });

  const badAttach: [string, object, [string, string][], number, RegExp][] = [
    ['two IPv4 addresses', { runtimeConfig: { ips: ['10.0.0.5/24', '10.0.0.6/24'] } }, [], CniCode.InvalidNetworkConfig, /two static IPv4/],
    ['an address that is none', { runtimeConfig: { ips: ['nope'] } }, [], CniCode.InvalidNetworkConfig, /not an IP address/],
    ['conflicting MACs', { runtimeConfig: { mac: '02:00:00:00:00:01' } }, [['MAC', '02:00:00:00:00:02']], CniCode.InvalidNetworkConfig, /conflicting MAC/],
    ['unknown CNI_ARGS', {}, [['FOO', 'bar']], CniCode.InvalidEnvironment, /unknown args \[FOO\]/],
    ['a bad hostIP', { runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1, hostIP: 'x' }] } }, [], CniCode.InvalidNetworkConfig, /hostIP/],
  ];
  for (const [what, over, args, c, re] of badAttach) {
    it(`refuses ${what} (code ${c})`, () => assert.throws(() => attachmentPlan(parseNetConf({ ...base, ...over }), req(args), 'n1'), code(c, re)));
  }

  it('ignores unknown CNI_ARGS with IgnoreUnknown', () => {
    assert.equal(attachmentPlan(parseNetConf(base), req([['IgnoreUnknown', '1'], ['FOO', 'bar']]), 'n1').ip, undefined);
  });

  it('checks static addresses against the config\'s subnets before anything is made', () => {
    const conf = parseNetConf({ ...base, ipam: { subnet: '10.3.0.0/24' }, runtimeConfig: { ips: ['10.4.0.5/24'] } });
    const plan = networkPlan(conf);
    assert.throws(() => checkStaticAddresses(plan, attachmentPlan(conf, req(), plan.name)), code(CniCode.InvalidNetworkConfig, /not in the network's subnets/));
  });

  it('collects valid attachments from both spellings of the key', () => {
    const conf = parseNetConf({ ...base, 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }], 'cni.dev/attachments': [{ containerID: 'b', ifname: 'net1' }] });
    assert.deepEqual([...validAttachments(conf)].sort(), ['a/eth0', 'b/net1']);
    assert.deepEqual([...validAttachments(parseNetConf({ ...base, 'cni.dev/valid-attachments': [] }))], []);
    assert.throws(() => validAttachments(parseNetConf(base)), code(CniCode.InvalidNetworkConfig, /GC needs/));
  });
});
