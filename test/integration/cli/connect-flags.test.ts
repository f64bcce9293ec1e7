/** `tsnet connect --link-local-ip` and `--driver-opt`. */
import { strict as assert } from 'node:assert';
import { tsnet, tsnetFails as fails, tsnetOk as ok } from '../../helpers/cli';

describe('CLI: connect flags', function () {
  this.timeout(120000);
  const run = process.pid.toString(36);
  const [net, sb] = [`cn-${run}`, `cns-${run}`];
  before(() => {
    ok('create', '--subnet', '172.25.8.0/24', net);
    ok('sandbox', 'create', sb);
  });
  after(() => {
    tsnet('sandbox', 'rm', sb);
    tsnet('rm', net);
  });

  it('refuses bad values in one line and connects nothing', () => {
    fails(2, /--link-local-ip nope: not an IP address/, 'connect', '--link-local-ip', 'nope', net, sb);
    fails(2, /--driver-opt com\.example\.x: unknown endpoint option/, 'connect', '--driver-opt', 'com.example.x=1', net, sb);
    fails(2, /invalid --driver-opt "novalue"/, 'connect', '--driver-opt', 'novalue', net, sb);
    fails(2, /expected net\.ipv4\.conf\.IFNAME/, 'connect', '--driver-opt', 'com.docker.network.endpoint.sysctls=net.ipv4.ip_forward=1', net, sb);
    fails(2, /invalid interface name|interface name/, 'connect', '--driver-opt', 'com.docker.network.endpoint.ifname=bad/name', net, sb);
    const [view] = JSON.parse(ok('sandbox', 'inspect', sb));
    assert.deepEqual(Object.keys(view.NetworkSettings.Networks), ['bridge']);
  });

  it('adds link-local addresses, names the interface and sets its sysctls', () => {
    ok('connect', '--link-local-ip', '169.254.10.5', '--link-local-ip', 'fe80::5', '--driver-opt', 'com.docker.network.endpoint.ifname=lan0',
      '--driver-opt', 'com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.forwarding=1,net.ipv4.conf.IFNAME.log_martians=1', net, sb);
    const out = ok('sandbox', 'exec', sb, '--', 'sh', '-c', 'ip -o addr show lan0; cat /proc/sys/net/ipv4/conf/lan0/forwarding /proc/sys/net/ipv4/conf/lan0/log_martians /proc/sys/net/ipv4/conf/eth0/log_martians /proc/sys/net/ipv4/conf/default/log_martians');
    assert.match(out, /inet 172\.25\.8\.2\/24/);
    assert.match(out, /inet 169\.254\.10\.5\/16/);
    assert.match(out, /inet6 fe80::5\/64/);
    // New namespaces take their defaults from the machine's: eth0 keeps the default, lan0 has its own.
    assert.match(out, /\n1\n1\n0\n0\n$/);
    const [view] = JSON.parse(ok('sandbox', 'inspect', sb));
    const ep = view.NetworkSettings.Networks[net];
    assert.deepEqual(ep.IPAMConfig, { LinkLocalIPs: ['169.254.10.5', 'fe80::5'] });
    assert.equal(ep.InterfaceName, 'lan0');
    assert.equal(ep.DriverOpts['com.docker.network.endpoint.ifname'], 'lan0');
    assert.equal(view.NetworkSettings.Networks.bridge.IPAMConfig, null);
    ok('disconnect', net, sb);
    assert.doesNotMatch(ok('sandbox', 'exec', sb, '--', 'ip', '-o', 'addr'), /169\.254\.10\.5|lan0/);
  });
});
