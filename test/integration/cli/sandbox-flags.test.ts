/** `run` / `sandbox create` flags scripts use: --net, repeated and long-form --network, --expose ranges, --sysctl, --domainname, --link. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { tsnet, tsnetFails as fails, tsnetOk as ok } from '../../helpers/cli';

const inspectSb = (sb: string) => JSON.parse(ok('sandbox', 'inspect', sb))[0];

describe('CLI: sandbox flags', function () {
  this.timeout(180000);
  const run = process.pid.toString(36);
  const [netA, netB] = [`sfa-${run}`, `sfb-${run}`];
  const made: string[] = [];
  const sandbox = (name: string, ...args: string[]) => {
    made.push(name);
    return ok('sandbox', 'create', name, ...args);
  };
  before(() => {
    ok('create', '--subnet', '172.25.3.0/24', netA);
    ok('create', '--subnet', '172.25.9.0/24', netB);
  });
  after(() => {
    for (const sb of made.reverse()) tsnet('sandbox', 'rm', sb);
    tsnet('rm', netA, netB);
  });
  afterEach(() => assert.doesNotMatch(ok('sandbox', 'ls'), /bad-/, 'a refused create left a sandbox'));

  it('run --net=NET --ip=IP, as in the issue', () => {
    const out = ok('run', `--net=${netA}`, '--ip=172.25.3.3', '--name', `r-${run}`, '--rm', '--', 'ip', '-o', '-4', 'addr', 'show', 'eth0');
    assert.match(out, /inet 172\.25\.3\.3\/24/);
    fails(3, /not found/, 'sandbox', 'inspect', `r-${run}`);
  });

  it('--network repeated, long form with alias, ip and mac-address, the container-wide options on the first', () => {
    const sb = `multi-${run}`;
    sandbox(sb, '--network', `name=${netA},alias=web,alias=www,ip=172.25.3.30,mac-address=02:42:ac:19:03:1e`, '--net', netB);
    const nets = inspectSb(sb).NetworkSettings.Networks;
    assert.deepEqual(Object.keys(nets).sort(), [netA, netB].sort());
    assert.deepEqual([nets[netA].InterfaceName, nets[netA].IPAddress, nets[netA].MacAddress, nets[netA].Aliases], ['eth0', '172.25.3.30', '02:42:ac:19:03:1e', ['web', 'www']]);
    assert.equal(nets[netB].InterfaceName, 'eth1');
    const out = ok('sandbox', 'exec', sb, '--', 'ip', '-o', 'addr');
    assert.match(out, /eth1\s+inet 172\.25\.9\.\d+\/24/);
    const wide = `wide-${run}`;
    sandbox(wide, '--ip', '172.25.3.31', '--alias', 'api', '--network', netA, '--network', `name=${netB},ip=172.25.9.31`);
    const w = inspectSb(wide).NetworkSettings.Networks;
    assert.deepEqual([w[netA].IPAddress, w[netA].Aliases, w[netB].IPAddress, w[netB].Aliases], ['172.25.3.31', ['api'], '172.25.9.31', []]);
  });

  it('refuses bad --network combinations in one line, leaving nothing', () => {
    fails(2, /network "sfa-[^"]+" is specified multiple times/, 'sandbox', 'create', `bad-1-${run}`, '--network', netA, '--net', netA);
    fails(2, /cannot attach both user-defined and non-user-defined/, 'sandbox', 'create', `bad-2-${run}`, '--network', 'bridge', '--network', netA);
    fails(2, /cannot attach both user-defined and non-user-defined/, 'sandbox', 'create', `bad-3-${run}`, '--network', netA, '--network', 'none');
    fails(2, /cannot specify both --ip and per-network IPv4 address/, 'sandbox', 'create', `bad-4-${run}`, '--ip', '172.25.3.40', '--network', `name=${netA},ip=172.25.3.41`);
    fails(2, /invalid field key foo/, 'sandbox', 'create', `bad-5-${run}`, '--network', `name=${netA},foo=1`);
    fails(2, /network name is required/, 'sandbox', 'create', `bad-6-${run}`, '--network', 'alias=x');
    // The second network refuses its address after the first was joined: the first is undone too.
    fails(2, /172\.25\.3\.99/, 'sandbox', 'create', `bad-7-${run}`, '--network', netA, '--network', `name=${netB},ip=172.25.3.99`);
    assert.doesNotMatch(ok('inspect', '-f', '{{json .Containers}}', netA), /bad-7/);
  });

  it('--expose a range, published by -P', () => {
    const sb = `exp-${run}`;
    sandbox(sb, '--expose', '8000-8002', '--expose', '53/udp', '-P');
    assert.deepEqual(Object.keys(inspectSb(sb).Config.ExposedPorts), ['8000/tcp', '8001/tcp', '8002/tcp', '53/udp']);
    assert.deepEqual(ok('port', sb).trim().split('\n').map((l) => l.split(' ')[0]).filter((v, i, a) => a.indexOf(v) === i), ['53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
    fails(2, /invalid --expose "8010-8000"/, 'sandbox', 'create', `bad-e-${run}`, '--expose', '8010-8000');
    fails(2, /invalid --expose "0-3"/, 'sandbox', 'create', `bad-e-${run}`, '--expose', '0-3');
  });

  it('--sysctl sets namespaced net.* sysctls in the sandbox only', () => {
    const sb = `sys-${run}`;
    const hostBefore = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    sandbox(sb, '--network', netA, '--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'net.ipv4.conf.eth0.rp_filter=2');
    assert.equal(ok('sandbox', 'exec', sb, '--', 'cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv4/conf/eth0/rp_filter'), '1\n2\n');
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostBefore);
    assert.deepEqual(inspectSb(sb).HostConfig.Sysctls, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.eth0.rp_filter': '2' });
    fails(2, /--sysctl kernel\.shmmax: only network namespace sysctls/, 'sandbox', 'create', `bad-s-${run}`, '--sysctl', 'kernel.shmmax=1');
    fails(2, /--sysctl net\.ipv4\.nope: no such network sysctl/, 'sandbox', 'create', `bad-s-${run}`, '--network', netA, '--sysctl', 'net.ipv4.nope=1');
    fails(2, /not allowed with the host network mode/, 'sandbox', 'create', `bad-s-${run}`, '--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1');
    fails(2, /invalid --sysctl "net\.ipv4\.ip_forward"/, 'sandbox', 'create', `bad-s-${run}`, '--sysctl', 'net.ipv4.ip_forward');
    assert.doesNotMatch(ok('inspect', '-f', '{{json .Containers}}', netA), /bad-s/);
  });

  it('--domainname: the UTS domain name and the hosts line hostname.domainname', () => {
    const sb = `dom-${run}`;
    sandbox(sb, '--network', netA, '--hostname', 'web', '--domainname', 'example.com');
    const out = ok('sandbox', 'exec', sb, '--', 'sh', '-c', 'hostname; cat /proc/sys/kernel/domainname; grep -v localhost /etc/hosts | grep -v ip6');
    assert.match(out, new RegExp(`^web\\nexample\\.com\\n172\\.25\\.3\\.\\d+\\tweb\\.example\\.com web ${sb}\\n$`));
    assert.equal(inspectSb(sb).Config.Domainname, 'example.com');
    fails(2, /invalid domainname "-bad"/, 'sandbox', 'create', `bad-d-${run}`, '--domainname', '-bad');
  });

  it('--link NAME:ALIAS writes Docker\'s hosts entry for the linked sandbox on a shared network', () => {
    const [target, linker, other] = [`lt-${run}`, `ll-${run}`, `lo-${run}`];
    sandbox(target, '--hostname', 'dbhost');
    sandbox(linker, '--link', `${target}:db`, '--link', target);
    const targetIp = inspectSb(target).NetworkSettings.Networks.bridge.IPAddress;
    const hosts = ok('sandbox', 'exec', linker, '--', 'cat', '/etc/hosts');
    assert.match(hosts, new RegExp(`^${targetIp.replace(/\./g, '\\.')}\\tdb dbhost ${target}$`, 'm'));
    assert.match(hosts, new RegExp(`^${targetIp.replace(/\./g, '\\.')}\\t${target} dbhost$`, 'm'));
    assert.deepEqual(inspectSb(linker).HostConfig.Links, [`/${target}:/${linker}/db`, `/${target}:/${linker}/${target}`]);
    sandbox(other, '--network', netB);
    fails(2, /cannot link to lo-/, 'sandbox', 'create', `bad-l-${run}`, '--link', other);
    fails(3, /could not get sandbox for nosuch/, 'sandbox', 'create', `bad-l-${run}`, '--link', `nosuch-${run}:x`);
    fails(2, /invalid --link/, 'sandbox', 'create', `bad-l-${run}`, '--link', 'a:b:c');
  });
});
