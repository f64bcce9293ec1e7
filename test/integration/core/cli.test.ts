/** The tsnet CLI as an administrator uses it: create/ls/inspect/connect/disconnect/prune, help, config, restore. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, tsnet } from '../../helpers/cli';
import { inFreshHost } from '../../helpers/fresh-host';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'fixtures');

describe('tsnet CLI', function () {
  this.timeout(60000);
  const run = process.pid.toString(36);
  const net = `clinet-${run}`;
  after(() => {
    tsnet('sandbox', 'rm', `c1-${run}`, `c3-${run}`);
    tsnet('rm', net, `cli2-${run}`);
  });

  it('creates mynet as in the issue and inspects it in the docker shape', () => {
    assert.equal(tsnet('create', '-d', 'bridge', '--subnet', '172.21.0.0/16', '--label', 'team=net', net).status, 0);
    const [view] = JSON.parse(tsnet('inspect', net).stdout);
    assert.deepEqual(Object.keys(view), ['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels']);
    assert.equal(view.Name, net);
    assert.match(view.Id, /^[0-9a-f]{64}$/);
    assert.deepEqual(view.IPAM.Config, [{ Subnet: '172.21.0.0/16', Gateway: '172.21.0.1' }]);
    assert.equal(view.Driver, 'bridge');
    assert.deepEqual(view.Labels, { team: 'net' });
  });

  it('lists as a table, quietly, filtered and as JSON lines', () => {
    const table = tsnet('ls').stdout.split('\n');
    assert.match(table[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    assert.ok(table.some((l) => /\sbridge\s+bridge\s+local$/.test(l)));
    assert.ok(table.some((l) => l.includes(net)));
    const quiet = tsnet('ls', '-q', '--filter', `name=${net}`).stdout.trim();
    assert.match(quiet, /^[0-9a-f]{12}$/);
    const json = tsnet('ls', '--format', 'json', '--filter', 'label=team=net').stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(json.map((j) => j.Name), [net]);
    const names = (filter: string) => tsnet('ls', '--format', 'json', '--filter', filter).stdout.trim().split('\n').map((l) => JSON.parse(l).Name as string);
    assert.deepEqual(names('type=builtin'), ['bridge', 'host', 'none']);
    assert.ok(names('type=custom').includes(net) && !names('type=custom').some((n) => ['bridge', 'host', 'none'].includes(n)));
    assert.equal(tsnet('ls', '--filter', 'bogus=1').status, 2);
  });

  it('connects with a static IP and alias, shows it in inspect, and disconnects', () => {
    assert.equal(tsnet('sandbox', 'create', `c1-${run}`, '--network', 'none').status, 0);
    assert.match(tsnet('connect', net, `c1-${run}`).stderr, /private \(none\) mode/);
    assert.equal(tsnet('sandbox', 'rm', `c1-${run}`).status, 0);
    assert.equal(tsnet('sandbox', 'create', `c1-${run}`, '--network', net, '--ip', '172.21.0.77', '--alias', 'seventy').status, 0);
    const [view] = JSON.parse(tsnet('inspect', net).stdout);
    const entries = Object.values(view.Containers) as { Name: string; IPv4Address: string }[];
    assert.deepEqual(entries.map((e) => [e.Name, e.IPv4Address]), [[`c1-${run}`, '172.21.0.77/16']]);
    const [sb] = JSON.parse(tsnet('sandbox', 'inspect', `c1-${run}`).stdout);
    assert.deepEqual(sb.NetworkSettings.Networks[net].Aliases, ['seventy']);
    assert.equal(tsnet('disconnect', net, `c1-${run}`).status, 0);
    assert.equal(tsnet('disconnect', net, `c1-${run}`).status, 3);
    assert.equal(tsnet('disconnect', '-f', net, `c1-${run}`).status, 0);
  });

  it('shows the network a sandbox was created with as HostConfig.NetworkMode', () => {
    const mode = (sb: string) => {
      const r = tsnet('sandbox', 'inspect', sb);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { HostConfig: { NetworkMode: string } }[])[0].HostConfig.NetworkMode;
    };
    const [named, none, shared, dflt] = ['nm1', 'nm2', 'nm3', 'nm4'].map((s) => `${s}-${run}`);
    try {
      assert.equal(tsnet('sandbox', 'create', named, '--network', net).status, 0);
      assert.equal(tsnet('sandbox', 'create', none, '--network', 'none').status, 0);
      // Docker records the container a stack is shared with by id, whatever name the user gave.
      assert.equal(tsnet('sandbox', 'create', shared, '--network', `container:${named}`).status, 0);
      assert.equal(tsnet('sandbox', 'create', dflt).status, 0);
      const namedId = (JSON.parse(tsnet('sandbox', 'inspect', named).stdout) as { Id: string }[])[0].Id;
      assert.deepEqual([mode(named), mode(none), mode(shared), mode(dflt)], [net, 'none', `container:${namedId}`, 'bridge']);
    } finally {
      tsnet('sandbox', 'rm', shared);
      tsnet('sandbox', 'rm', named, none, dflt);
    }
  });

  it('shows NetworkMode bridge for sandboxes recorded before it was kept (a 0.1 store)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-v01-'));
    try {
      fs.copyFileSync(path.join(FIXTURES, 'store', 'v0.1', 'state.db'), path.join(dir, 'state.db'));
      // Read-only commands change nothing in the kernel: the fixture's lost namespaces and bridges stay lost.
      const r = tsnet('--state-dir', dir, 'sandbox', 'inspect', 'web', 'db');
      assert.equal(r.status, 0, r.stderr);
      const views = JSON.parse(r.stdout) as { Name: string; HostConfig: { NetworkMode: string } }[];
      assert.deepEqual(views.map((v) => [v.Name, v.HostConfig.NetworkMode]), [['web', 'bridge'], ['db', 'bridge']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prunes only unused user-defined networks', () => {
    assert.equal(tsnet('create', '--subnet', '172.20.9.0/24', `cli2-${run}`).status, 0);
    assert.equal(tsnet('sandbox', 'create', `c1b-${run}`, '--network', net).status, 0);
    try {
      const out = tsnet('prune', '-f').stdout;
      assert.match(out, new RegExp(`cli2-${run}`));
      assert.doesNotMatch(out, new RegExp(`${net}|bridge|none|host`));
    } finally {
      tsnet('sandbox', 'rm', `c1b-${run}`);
    }
  });

  it('has --help on every command', () => {
    const cmds = [[], ['create'], ['ls'], ['inspect'], ['rm'], ['prune'], ['connect'], ['disconnect'], ['network'], ['network', 'create'], ['sandbox'], ['sandbox', 'create'], ['sandbox', 'ls'], ['sandbox', 'inspect'], ['sandbox', 'rm'], ['sandbox', 'exec'], ['run']];
    for (const c of cmds) {
      const r = tsnet(...c, '--help');
      assert.equal(r.status, 0, `tsnet ${c.join(' ')} --help`);
      assert.match(r.stdout, /^Usage: tsnet/);
    }
  });

  it('runs a command inside a sandbox with its hostname, hosts and resolv.conf', () => {
    assert.equal(tsnet('sandbox', 'create', `c3-${run}`, '--network', net, '--hostname', 'inner', '--add-host', 'db:10.1.2.3').status, 0);
    const r = spawnSync(process.execPath, [CLI, 'sandbox', 'exec', `c3-${run}`, '--', 'sh', '-c', 'hostname; grep db /etc/hosts; cat /etc/resolv.conf; exit 7'], { encoding: 'utf8' });
    assert.equal(r.status, 7);
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(lines, ['inner', '10.1.2.3\tdb', 'nameserver 127.0.0.11', 'options ndots:0']);
  });

  it('applies the daemon config (bip, mtu) to the default bridge on first start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ bip: '172.19.0.1/24', mtu: 1400, 'default-gateway': '172.19.0.254', dns: ['192.0.2.53'] }));
      const r = inFreshHost(`tsnet inspect bridge; ip -o link show tsnet0
        tsnet sandbox create d1 >/dev/null
        tsnet sandbox exec d1 -- sh -c 'ip route show default; cat /etc/resolv.conf'`, { TSNET_CONFIG: path.join(dir, 'daemon.json') });
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /"Subnet": "172\.19\.0\.0\/24",\s+"Gateway": "172\.19\.0\.1"/);
      assert.match(r.out, /mtu 1400/);
      assert.match(r.out, /default via 172\.19\.0\.254 dev eth0/);
      assert.match(r.out, /nameserver 192\.0\.2\.53/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('daemon: a resident service that cannot start is reported on stderr, DNS and the others keep working', () => {
    // Another process holds the Docker plugin socket; the daemon must still serve names and the CNI socket.
    const r = inFreshHost(`sock=/run/docker/plugins/tsnet.sock
      ${process.execPath} -e "require('net').createServer(()=>{}).listen(process.argv[1])" "$sock" & busy=$!
      while [ ! -S "$sock" ]; do sleep 0.1; done
      tsnet ls -q >/dev/null
      # Not through the tsnet function: $! must be the daemon's own pid, for the SIGTERM below.
      ${process.execPath} ${CLI} daemon 2>"$TSNET_STATE_DIR/daemon.err" & d=$!
      while [ ! -S "$TSNET_STATE_DIR/cni.sock" ]; do kill -0 $d; sleep 0.1; done
      tsnet create --subnet 172.16.95.0/24 dn >/dev/null
      tsnet sandbox create web --network dn >/dev/null
      tsnet sandbox create probe --network dn >/dev/null
      tsnet sandbox exec probe -- dig +short +tries=1 +time=3 @127.0.0.11 web
      kill -TERM $d; wait $d && echo "daemon exit 0"
      test -e "$TSNET_STATE_DIR/cni.sock" && echo "cni.sock left behind"
      kill $busy
      cat "$TSNET_STATE_DIR/daemon.err"`);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out, '172.16.95.2\ndaemon exit 0\ntsnet daemon: docker plugin not started: docker plugin socket /run/docker/plugins/tsnet.sock: another process serves it\n');
  });

  it('keeps state across a restart and re-creates bridges the kernel lost', () => {
    const r = inFreshHost(`tsnet create --subnet 172.18.5.0/24 keep >/dev/null
      br=br-$(tsnet ls -q --no-trunc --filter name=keep | cut -c1-12)
      ip link del "$br"
      tsnet ls -q --filter name=keep
      ip link show "$br" >/dev/null 2>&1 && echo "ls must not change the kernel"
      tsnet sandbox create back --network keep >/dev/null
      ip -o addr show "$br" | grep -o '172.18.5.1/24'
      tsnet sandbox exec back -- ip -o -4 addr show eth0 | grep -o '172.18.5.2/24'`);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^[0-9a-f]{12}\n172\.18\.5\.1\/24\n172\.18\.5\.2\/24\n$/);
  });
});
