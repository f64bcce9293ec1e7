/** The netavark contract: options decoding and schema, every network's plan, args, errors — against the recorded calls and the bad-input corpus. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from '../../../plugins/netavark/args';
import { parseNetworkOptions } from '../../../plugins/netavark/contract';
import { errorJson, messageOf, NetavarkError } from '../../../plugins/netavark/errors';
import { defaultRouteDevice, difference } from '../../../plugins/netavark/network';
import { NETAVARK_LABEL, portRequests, setupPlan } from '../../../plugins/netavark/plan';
import { sandboxNames } from '../../../plugins/netavark/records';
import { runNetavark } from '../../../plugins/netavark/run';
import { DNS_DOMAIN_LABEL, DNS_ENABLED_LABEL, type Network } from '../../../src/index';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'netavark');
const valid = (name: string) => fs.readFileSync(path.join(FIXTURES, 'valid', `${name}.json`), 'utf8');
const invalidCases = fs.readdirSync(path.join(FIXTURES, 'invalid')).filter((f) => f.endsWith('.json')).sort();

/** Options text of an invalid case: a string stdin is sent as it is. */
function stdinOf(file: string): { error: string; stdin: string } {
  const c = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'invalid', file), 'utf8')) as { error: string; stdin: unknown };
  return { error: c.error, stdin: typeof c.stdin === 'string' ? c.stdin : JSON.stringify(c.stdin) };
}

describe('netavark contract: recorded podman 4.3 calls', function () {
  it('maps podman run --ip --network-alias -p onto one bridge network', function () {
    const plan = setupPlan(parseNetworkOptions(valid('run-ip-alias-port')));
    assert.equal(plan.containerName, 'srv');
    assert.equal(plan.networks.length, 1);
    const n = plan.networks[0];
    assert.equal(n.name, 'pnet');
    assert.deepEqual(n.spec.options, { 'com.docker.network.bridge.name': 'podman2', 'com.docker.network.bridge.enable_ip_masquerade': 'true' });
    assert.deepEqual(n.spec.ipam, [{ subnet: '10.89.8.0/24', gateway: '10.89.8.1' }]);
    assert.equal(n.spec.labels![NETAVARK_LABEL], '311b6c1e0a9f4d3e2b1c0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d');
    assert.equal(n.spec.labels![DNS_DOMAIN_LABEL], 'dns.podman');
    assert.equal(n.ip, '10.89.8.10');
    assert.deepEqual(n.aliases, ['web', '5ebc14084a03']);
    assert.deepEqual(n.subnets, [{ subnet: '10.89.8.0/24', gateway: '10.89.8.1', ipnet: '10.89.8.10/24' }]);
    assert.ok(n.dns && n.publishes);
    assert.deepEqual(plan.ports, [{ protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 18081, hostPortEnd: 18081 }]);
  });

  it('keeps network connect\'s repeated ports and its eth1', function () {
    const plan = setupPlan(parseNetworkOptions(valid('connect-second-network')));
    assert.equal(plan.networks[0].ifname, 'eth1');
    assert.equal(plan.ports.length, 1);
  });

  it('orders the networks of a teardown by name', function () {
    const plan = setupPlan(parseNetworkOptions(valid('rm-two-networks')));
    assert.deepEqual(plan.networks.map((n) => [n.name, n.ifname]), [['pnet', 'eth0'], ['pnet2', 'eth1']]);
  });

  it('turns the resolver off on podman\'s default network (dns_enabled false) and drops its aliases', function () {
    const n = setupPlan(parseNetworkOptions(valid('default-network'))).networks[0];
    assert.equal(n.dns, false);
    assert.deepEqual(n.aliases, []);
    assert.equal(n.spec.labels![DNS_ENABLED_LABEL], 'false');
  });

  it('honours mtu, internal, dual stack, a static MAC and port ranges over two protocols', function () {
    const plan = setupPlan(parseNetworkOptions(valid('dual-stack-internal-mtu')));
    const n = plan.networks[0];
    assert.equal(n.spec.options!['com.docker.network.driver.mtu'], '1400');
    assert.equal(n.spec.internal, true);
    assert.equal(n.spec.ipv6, true);
    assert.equal(n.ip6, 'fd00:20::5');
    assert.equal(n.mac, '5a:11:22:33:44:55');
    assert.equal(n.publishes, false);
    assert.deepEqual(plan.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`), [
      '127.0.0.1:5300->53/tcp', '127.0.0.1:5301->54/tcp', '127.0.0.1:5300->53/udp', '127.0.0.1:5301->54/udp',
    ]);
  });

  it('maps a macvlan network onto tsnet\'s macvlan driver with its mode and parent', function () {
    const n = setupPlan(parseNetworkOptions(valid('macvlan'))).networks[0];
    assert.deepEqual(n.spec.options, { macvlan_mode: 'private', parent: 'eth0' });
    assert.equal(n.dns, false);
    assert.equal(n.publishes, false);
  });
});

describe('netavark contract: bad input', function () {
  for (const file of invalidCases) {
    it(`refuses ${file.replace(/\.json$/, '')} in netavark's words`, function () {
      const { error, stdin } = stdinOf(file);
      assert.throws(() => setupPlan(parseNetworkOptions(stdin)), (err: unknown) => {
        assert.ok(err instanceof NetavarkError, String(err));
        assert.ok(err.message.includes(error), `"${err.message}" should contain "${error}"`);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      });
    });
  }

  it('answers a bad input with {"error"} on stdout and exit 1, before any state is opened', async function () {
    const out: string[] = [];
    // A state directory that cannot exist: the run must fail on the input, never reach the store.
    const code = await runNetavark(['--config', '/run/containers/networks', '--rootless=false', '--aardvark-binary=', 'setup', '/proc/self/ns/net'], {
      env: { TSNET_STATE_DIR: '/nonexistent/tsnet' }, readStdin: async () => '{"container_id":', stdout: { write: (s: string) => out.push(s) },
    });
    assert.equal(code, 1);
    assert.equal(out.length, 1);
    const parsed = JSON.parse(out[0]) as { error: string };
    assert.match(parsed.error, /^failed to load network options: IO error: /);
  });

  it('refuses rootless invocations clearly', async function () {
    const out: string[] = [];
    const code = await runNetavark(['--rootless=true', 'setup', '/proc/self/ns/net'], { env: {}, readStdin: async () => valid('run-ip-alias-port'), stdout: { write: (s: string) => out.push(s) } });
    assert.equal(code, 1);
    assert.match((JSON.parse(out[0]) as { error: string }).error, /rootless networking is not supported yet/);
  });

  it('refuses a setup whose namespace does not exist, as netavark does', async function () {
    const out: string[] = [];
    const code = await runNetavark(['setup', '/run/netns/none-such-ns'], { env: {}, readStdin: async () => valid('run-ip-alias-port'), stdout: { write: (s: string) => out.push(s) } });
    assert.equal(code, 1);
    assert.match((JSON.parse(out[0]) as { error: string }).error, /^invalid namespace path: /);
  });

  it('prints version as netavark\'s pretty JSON', async function () {
    const out: string[] = [];
    assert.equal(await runNetavark(['version'], { env: {}, readStdin: async () => '', stdout: { write: (s: string) => out.push(s) } }), 0);
    const v = JSON.parse(out.join('')) as Record<string, string>;
    assert.equal(v.version, '1.4.0');
    assert.ok(v.tsnet && v.commit && v.target);
  });
});

describe('netavark command line', function () {
  const table: [string[], Partial<ReturnType<typeof parseArgs>> | RegExp][] = [
    [['--config', '/run/containers/networks', '--rootless=false', '--aardvark-binary=/usr/lib/podman/aardvark-dns', 'setup', '/run/netns/x'],
      { verb: 'setup', config: '/run/containers/networks', rootless: false, aardvarkBinary: '/usr/lib/podman/aardvark-dns', netns: '/run/netns/x' }],
    [['--config=/c', '--rootless', 'false', '--aardvark-binary=', 'teardown', '/run/netns/y'], { verb: 'teardown', config: '/c', aardvarkBinary: '', netns: '/run/netns/y' }],
    [['-c', '/c', '-r', 'true', '-f', '/tmp/opts.json', 'setup', '/n'], { verb: 'setup', rootless: true, file: '/tmp/opts.json' }],
    [['version'], { verb: 'version' }],
    [['--version'], { verb: 'version' }],
    [['setup'], /network namespace path is required/],
    [['--bogus', 'setup', '/n'], /unknown option --bogus/],
    [['--rootless=maybe', 'setup', '/n'], /invalid value "maybe" for --rootless/],
    [['create', 'x'], /unknown command "create"/],
    [[], /a command is required/],
    [['setup', '/n', 'extra'], /unexpected argument "extra"/],
    [['--config'], /option --config needs a value/],
  ];
  for (const [argv, want] of table) {
    it(`${argv.join(' ') || '(nothing)'}`, function () {
      if (want instanceof RegExp) assert.throws(() => parseArgs(argv), want);
      else assert.deepEqual({ ...parseArgs(argv), ...want }, parseArgs(argv));
    });
  }
});

describe('netavark face helpers', function () {
  it('flattens error lists as netavark\'s NetavarkErrorList', function () {
    assert.equal(messageOf(new AggregateError([new Error('a')], 'x')), 'a');
    assert.equal(messageOf(new AggregateError([new Error('a'), new Error('b')], 'x')), 'netavark encountered multiple errors:\n\t- a\n\t- b');
    assert.equal(errorJson('bad "x"'), '{"error":"bad \\"x\\""}');
  });

  it('finds the default route device in /proc/net/route', function () {
    const table = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nens3\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\nens4\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
    assert.equal(defaultRouteDevice(table), 'ens4');
    assert.throws(() => defaultRouteDevice('Iface\tDestination\n'), /no default route interface/);
  });

  it('names a container\'s sandbox after it, then after its id', function () {
    assert.deepEqual(sandboxNames('srv', 'ab'.repeat(32)).slice(0, 2), ['srv', 'podman-abababababab']);
    assert.equal(sandboxNames('-bad', 'ab'.repeat(32))[0], 'podman-abababababab');
  });

  it('expands a port range pairwise, one request per port and protocol', function () {
    assert.deepEqual(portRequests([{ host_ip: '', container_port: 80, host_port: 8080, range: 0, protocol: 'tcp' }]).length, 1);
    assert.deepEqual(portRequests([{ host_ip: '', container_port: 80, host_port: 8080, range: 3, protocol: 'udp' }]).map((p) => `${p.hostPort}:${p.containerPort}`), ['8080:80', '8081:81', '8082:82']);
  });

  it('tells a recorded network apart from a podman network made again differently', function () {
    const n = setupPlan(parseNetworkOptions(valid('run-ip-alias-port'))).networks[0];
    const net = {
      id: 'b'.repeat(64), name: 'pnet', driver: 'bridge', scope: 'local', created: '', ipv6: false, internal: false,
      options: { ...n.spec.options }, labels: { ...n.spec.labels }, ipam: [{ poolId: 'p', subnet: '10.89.8.0/24', gateway: '10.89.8.1' }],
      info: { publishes: true, dns: true, staticAddresses: true, engineEndpoints: true, claims: {} }, driverData: {},
    } as Network;
    assert.equal(difference(net, n.spec), undefined);
    assert.match(difference({ ...net, labels: { ...net.labels, [NETAVARK_LABEL]: 'c'.repeat(64) } }, n.spec)!, /podman network id cccccccccccc/);
    assert.match(difference({ ...net, ipam: [{ poolId: 'p', subnet: '10.89.9.0/24' }] }, n.spec)!, /subnets 10\.89\.9\.0\/24/);
    assert.match(difference({ ...net, labels: {} }, n.spec)!, /another tsnet face/);
  });
});

describe('netavark helper and shim', function () {
  it('speak the daemon socket\'s names', function () {
    const { helperScript } = require('../../../plugins/netavark/install') as typeof import('../../../plugins/netavark/install');
    const { ARGV_VARIABLE, NETAVARK_SOCKET } = require('../../../plugins/netavark/server') as typeof import('../../../plugins/netavark/server');
    const script = helperScript({ stateDir: '/var/lib/tsnet-x', entry: '/opt/x.js', node: '/usr/bin/node' });
    const shim = fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'plugins', 'netavark', 'shim', 'tsnet-netavark.c'), 'utf8');
    for (const text of [script, shim]) {
      assert.ok(text.includes(`${ARGV_VARIABLE}`), 'argv variable');
      assert.ok(text.includes(`"${NETAVARK_SOCKET}"`), 'socket name');
    }
    assert.match(script, /^#!\/usr\/bin\/node\n/);
    assert.match(script, /process\.env\.TSNET_STATE_DIR = "\/var\/lib\/tsnet-x";/);
    // The script must parse (a template literal slip would only show when podman runs it).
    new Function(script.replace(/^#!.*\n/, ''));
  });
});
