/**
 * Each networking key of daemon.json, shown in the kernel: every case runs in a fresh private host
 * (own namespaces and state dir, so the default bridge is made from that config), with TSNET_CONFIG
 * pointing at its fixture under fixtures/daemon/valid.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { CLI } from '../../helpers/cli';
import { inFreshHost } from '../../helpers/fresh-host';

const VALID = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'daemon', 'valid');

/** Runs script in a fresh host configured by fixtures/daemon/valid/<fixture>.json; asserts it succeeded; stdout then stderr. */
function withConfig(fixture: string, script: string): string {
  const r = inFreshHost(script, { TSNET_CONFIG: path.join(VALID, `${fixture}.json`) });
  assert.equal(r.status, 0, r.out);
  return r.out;
}

/** Shell: a TCP listener on $2 port $3 in sandbox $1 ("-" for the host), its pid in $LISTENER. */
const LISTEN = `listen() {
  local js="require('net').createServer((s) => s.end('ok')).listen($3, '$2', () => console.log('up'))"
  # nsenter execs node, so $! is the listener itself and kill ends it.
  if [ "$1" = - ]; then node -e "$js" > /tmp/l-$$ & else nsenter --net=$(tsnet sandbox inspect $1 | grep -o '/run/netns/[^"]*') node -e "$js" > /tmp/l-$$ & fi
  LISTENER="$LISTENER $!"
  until grep -q up /tmp/l-$$ 2>/dev/null; do sleep 0.1; done; rm -f /tmp/l-$$
}
probe() { tsnet sandbox exec $1 -- timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3 && head -c2 <&3" 2>/dev/null && echo " $4-ok" || echo "$4-blocked"; }`;

/** Shell: the sandbox's eth0 addresses, routes and resolv.conf. */
const SANDBOX_VIEW = `sh -c 'ip -o addr show eth0; ip route; ip -6 route show default; ip -o link show eth0; cat /etc/resolv.conf'`;

describe('daemon.json networking keys in the kernel', function () {
  this.timeout(120000);

  it('the tutorial example verbatim: bridge at bip with mtu, sandboxes inside fixed-cidr routing via default-gateway, its dns; IPv6 keys inert', () => {
    const out = withConfig('tutorial-customise-docker0', `
      tsnet sandbox create a >/dev/null
      ip -o addr show tsnet0; ip -o link show tsnet0
      tsnet sandbox exec a -- ${SANDBOX_VIEW}
      tsnet inspect bridge | grep -c '"EnableIPv6": false'`);
    assert.match(out, /tsnet0\s+inet 192\.168\.1\.5\/24 /);
    assert.match(out, /tsnet0: .* mtu 1500 /);
    assert.doesNotMatch(out, /2001:db8/);
    const addr = /eth0\s+inet 192\.168\.1\.(\d+)\/24/.exec(out);
    assert.ok(addr && Number(addr[1]) >= 128, out);
    assert.match(out, /default via 192\.168\.1\.1 dev eth0/);
    assert.match(out, /nameserver 10\.20\.1\.2\nnameserver 10\.20\.1\.3\n/);
  });

  it('bip and fixed-cidr: the bridge\'s address, addresses drawn from the range only', () => {
    const out = withConfig('fixed-cidr', `
      tsnet sandbox create a >/dev/null; tsnet sandbox create b >/dev/null
      ip -o -4 addr show tsnet0
      for s in a b; do tsnet sandbox exec $s -- ip -o -4 addr show eth0; done`);
    assert.match(out, /tsnet0\s+inet 10\.123\.0\.1\/24 /);
    const hosts = [...out.matchAll(/eth0\s+inet 10\.123\.0\.(\d+)\/24/g)].map((m) => Number(m[1]));
    assert.equal(hosts.length, 2, out);
    for (const h of hosts) assert.ok(h >= 128 && h <= 255, out);
  });

  it('fixed-cidr alone: the range is the subnet, the bridge takes its first address', () => {
    const out = withConfig('fixed-cidr-alone', 'tsnet sandbox create a >/dev/null; ip -o -4 addr show tsnet0; tsnet sandbox exec a -- ip -o -4 addr show eth0');
    assert.match(out, /tsnet0\s+inet 10\.124\.5\.1\/24 /);
    assert.match(out, /eth0\s+inet 10\.124\.5\.\d+\/24 /);
  });

  it('mtu (and a string mtu): the bridge and the sandbox\'s interface', () => {
    const out = withConfig('mtu', 'tsnet sandbox create a >/dev/null; ip -o link show tsnet0; tsnet sandbox exec a -- ip -o link show eth0');
    assert.equal([...out.matchAll(/ mtu 1400 /g)].length, 2, out);
    assert.match(withConfig('mtu-as-string', 'tsnet ls -q >/dev/null; ip -o link show tsnet0'), / mtu 1500 /);
  });

  it('default-gateway: the sandbox\'s default route, reserved from allocation', () => {
    const out = withConfig('default-gateway', `tsnet sandbox create a >/dev/null; tsnet sandbox exec a -- ip route show default
      tsnet inspect bridge | grep -A1 AuxiliaryAddresses`);
    assert.match(out, /default via 10\.123\.0\.254 dev eth0/);
    assert.match(out, /"DefaultGatewayIPv4": "10\.123\.0\.254"/);
  });

  it('ipv6 with fixed-cidr-v6 and default-gateway-v6: the sandbox\'s IPv6 address and default route', () => {
    const out = withConfig('default-gateway-v6', `tsnet sandbox create a >/dev/null; ip -o -6 addr show tsnet0 scope global
      tsnet sandbox exec a -- sh -c 'ip -o -6 addr show eth0 scope global; ip -6 route show default'`);
    assert.match(out, /tsnet0\s+inet6 fd00:123::1\/64 /);
    assert.match(out, /eth0\s+inet6 fd00:123::[0-9a-f]+\/64 /);
    assert.match(out, /default via fd00:123::fe dev eth0/);
  });

  it('ipv6 alone: the default bridge gets a ULA /64 too', () => {
    assert.match(withConfig('ipv6', 'tsnet sandbox create a >/dev/null; tsnet sandbox exec a -- ip -o -6 addr show eth0 scope global'), /eth0\s+inet6 fd[0-9a-f:]+\/64 /);
  });

  it('dns, dns-search, dns-opts: every sandbox\'s resolv.conf, on user networks too', () => {
    const dns = withConfig('dns', 'tsnet sandbox create a >/dev/null; tsnet sandbox exec a -- cat /etc/resolv.conf');
    assert.match(dns, /nameserver 192\.0\.2\.53\nnameserver 2001:db8::53\n/);
    const search = withConfig('dns-search', 'tsnet create u >/dev/null; tsnet sandbox create a --network u >/dev/null; tsnet sandbox exec a -- cat /etc/resolv.conf');
    assert.match(search, /search example\.com corp\.example\.?\n/);
    const opts = withConfig('dns-opts', 'tsnet sandbox create a >/dev/null; tsnet sandbox exec a -- cat /etc/resolv.conf');
    assert.match(opts, /options .*ndots:2.*edns0|options .*edns0.*ndots:2/);
  });

  it('ip: -p without an address publishes on that address only', () => {
    const out = withConfig('ip', 'tsnet sandbox create a -p 8080:80 >/dev/null; nft list ruleset | grep -E "127\\.0\\.0\\.1 . tcp . 8080|8080" | head -3');
    assert.match(out, /127\.0\.0\.1 \. tcp \. 8080/);
  });

  it('default-address-pools: the default bridge and `tsnet create` without --subnet draw from them', () => {
    const out = withConfig('default-address-pools', `tsnet create n1 >/dev/null; tsnet create n2 >/dev/null
      for n in bridge n1 n2; do tsnet inspect $n | grep '"Subnet"'; done`);
    assert.deepEqual([...out.matchAll(/"Subnet": "([^"]+)"/g)].map((m) => m[1]), ['10.10.0.0/24', '10.10.1.0/24', '10.10.2.0/24']);
  });

  it('icc false: sandboxes on the default bridge cannot reach each other, only the gateway', () => {
    const script = (fixture: string) => withConfig(fixture, `${LISTEN}
      tsnet sandbox create a >/dev/null; tsnet sandbox create b >/dev/null
      b=$(tsnet sandbox exec b -- ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1)
      gw=$(ip -o -4 addr show tsnet0 | awk '{print $4}' | cut -d/ -f1)
      listen b $b 7000; listen - $gw 7001
      probe a $gw 7001 gateway; probe a $b 7000 peer
      kill $LISTENER; wait`);
    assert.match(script('icc'), /ok gateway-ok\npeer-blocked\n/);
    // The same probe passes without the key: the block is icc's doing.
    assert.match(script('empty'), /ok gateway-ok\nok peer-ok\n/);
  });

  it('ip-masq false: no masquerade for the default bridge; without it, there is', () => {
    const off = withConfig('ip-masq', 'tsnet ls -q >/dev/null; nft list set inet tsnet masq4');
    assert.doesNotMatch(off, /172\.17\.0\.0\/16/);
    assert.match(withConfig('empty', 'tsnet ls -q >/dev/null; nft list set inet tsnet masq4'), /172\.17\.0\.0\/16/);
  });

  it('ip-forward false: forwarding stays as the operator set it; without it, tsnet turns it on', () => {
    assert.match(withConfig('ip-forward', 'sysctl -qw net.ipv4.ip_forward=0; tsnet ls -q >/dev/null; cat /proc/sys/net/ipv4/ip_forward'), /^0$/m);
    assert.match(withConfig('empty', 'sysctl -qw net.ipv4.ip_forward=0; tsnet ls -q >/dev/null; cat /proc/sys/net/ipv4/ip_forward'), /^1$/m);
  });

  it('iptables false: the ruleset stays untouched, inspect says so, -p is refused leaving nothing', () => {
    const r = inFreshHost(`nft list ruleset > /tmp/before-$$; iptables-save 2>/dev/null | grep -v '^#' > /tmp/ipt-before-$$ || true
      tsnet create u >/dev/null; tsnet sandbox create a >/dev/null; tsnet sandbox create b --network u >/dev/null
      nft list ruleset | diff /tmp/before-$$ - && echo nft-untouched
      (iptables-save 2>/dev/null | grep -v '^#' || true) | diff /tmp/ipt-before-$$ - && echo iptables-untouched
      tsnet inspect bridge | grep '"Firewall"'
      tsnet sandbox create c -p 8080:80 || echo "exit $?"
      tsnet sandbox ls -q | wc -l; ip netns list | wc -l`, { TSNET_CONFIG: path.join(VALID, 'iptables.json') });
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /^nft-untouched\niptables-untouched\n\s+"Firewall": "none: the daemon config sets \\"iptables\\": false.*\nexit 6\n2\n2\n$/);
    assert.equal(r.stderr, 'tsnet: publishing ports needs the firewall, and the daemon config sets "iptables": false (tsnet has no userland proxy to fall back on); set "iptables": true or drop -p\n');
  });

  it('ip6tables false: IPv4 rules only', () => {
    const rules = 'tsnet sandbox create a >/dev/null; nft list set inet tsnet local4; nft list set inet tsnet local6';
    const out = withConfig('ip6tables', rules);
    assert.match(out, /"tsnet0" \. 172\.17\.0\.0\/16/);
    assert.doesNotMatch(out, /"tsnet0" \. fd/);
    // The same bridge with ip6tables left on has its IPv6 subnet in the rules.
    assert.match(withConfig('ipv6', rules), /"tsnet0" \. fd[0-9a-f:]+\/64/);
  });

  it('bridge none: no default network; run without --network names the fix', () => {
    const r = inFreshHost('tsnet ls --format json | grep -c \'"Name":"bridge"\' || true; ip link show tsnet0 2>&1 || true; tsnet sandbox create a || echo "exit $?"; ip netns list | wc -l', { TSNET_CONFIG: path.join(VALID, 'bridge-none.json') });
    assert.equal(r.status, 0, r.out);
    assert.equal(r.stdout, '0\nDevice "tsnet0" does not exist.\nexit 2\n0\n');
    assert.equal(r.stderr, 'tsnet: no default network: the daemon config sets "bridge": "none"; pass --network <name>, or remove "bridge" from daemon.json\n');
  });

  it('bridge <name>: the operator\'s bridge is adopted as the default network with its address, and left as found', () => {
    const out = withConfig('bridge-adopt', `ip link add br-ops0 type bridge; ip link set br-ops0 mtu 1450; ip addr add 10.126.0.1/24 dev br-ops0; ip link set br-ops0 up
      tsnet sandbox create a >/dev/null; tsnet inspect bridge | grep -E '"Subnet"|"Gateway"'
      tsnet sandbox exec a -- ip -o -4 addr show eth0; ip -o link show tsnet0 2>&1 || true
      tsnet sandbox rm a >/dev/null; ip -o -4 addr show br-ops0; ip -o link show br-ops0`);
    assert.match(out, /"Subnet": "10\.126\.0\.0\/24",\s+"Gateway": "10\.126\.0\.1"/);
    assert.match(out, /eth0\s+inet 10\.126\.0\.\d+\/24/);
    assert.match(out, /tsnet0.*does not exist/);
    assert.match(out, /br-ops0\s+inet 10\.126\.0\.1\/24 [\s\S]*br-ops0: .* mtu 1450 /);
  });

  it('bridge <name> naming no device: every command says so in one line and makes nothing', () => {
    const r = inFreshHost('tsnet daemon --validate; tsnet ls || echo "exit $?"; ip -o link | wc -l', { TSNET_CONFIG: path.join(VALID, 'bridge-adopt.json') });
    assert.equal(r.status, 0, r.out);
    assert.equal(r.stdout, 'configuration OK\nexit 2\n1\n');
    assert.equal(r.stderr, 'tsnet: daemon config: "bridge": br-ops0 names no device on this host; create the bridge first, or remove the key to use tsnet\'s own\n');
  });

  it('userland-proxy and keys of other parts of dockerd: said by --validate and the daemon only, in one line', () => {
    const v = inFreshHost('tsnet daemon --validate; tsnet ls -q >/dev/null', { TSNET_CONFIG: path.join(VALID, 'other-dockerd-keys.json') });
    assert.equal(v.status, 0, v.out);
    assert.equal(v.stdout, 'configuration OK\n');
    assert.equal(v.stderr, 'tsnet daemon: ignoring keys of other parts of dockerd: registry-mirrors, hosts, log-driver, log-opts, storage-driver\n');
    // The daemon itself says it once at its start (the supervisor, not each child).
    const d = inFreshHost(`${process.execPath} ${CLI} daemon --no-docker-plugin --no-cni 2>/tmp/err-$$ & d=$!
      until [ -e $TSNET_STATE_DIR/daemon-config.json ]; do kill -0 $d; sleep 0.1; done
      kill -TERM $d; wait $d; cat /tmp/err-$$`, { TSNET_CONFIG: path.join(VALID, 'other-dockerd-keys.json') });
    assert.equal(d.status, 0, d.out);
    assert.equal(d.stdout, v.stderr);
    const u = inFreshHost('tsnet daemon --validate', { TSNET_CONFIG: path.join(VALID, 'userland-proxy-true.json') });
    assert.match(u.stderr, /^tsnet daemon: "userland-proxy": true: tsnet publishes ports without a userland proxy/);
  });
});
