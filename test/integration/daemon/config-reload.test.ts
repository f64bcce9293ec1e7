/**
 * The daemon config over time: the bad-config corpus refused in one line with nothing changed on the
 * host; a running daemon taking dns*, default-address-pools and the firewall keys on SIGHUP (and
 * keeping its config when the file turns invalid, which commands then still use); the default
 * bridge re-shaped at a daemon start unless a sandbox is on it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI } from '../../helpers/cli';
import { inFreshHost } from '../../helpers/fresh-host';

const INVALID = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'daemon', 'invalid');

/** Shell: starts the daemon on $cfg (its stderr in $err) and waits until it serves; stop_daemon ends it. */
const DAEMON = `err=$TSNET_STATE_DIR/daemon.err
start_daemon() {
  touch /tmp/started-$$; sleep 0.01
  ${process.execPath} ${CLI} daemon --no-docker-plugin --no-cni 2>>$err & d=$!
  # Serving once this daemon published its config (newer than the start: never a copy an earlier one left).
  until [ $TSNET_STATE_DIR/daemon-config.json -nt /tmp/started-$$ ]; do kill -0 $d; sleep 0.1; done
}
stop_daemon() { kill -TERM $d; wait $d; }
# Waits until the daemon's log holds $1 (at least $2 times; a SIGHUP is handled asynchronously).
logged() { for i in $(seq 100); do [ "$(grep -cF -- "$1" $err)" -ge "\${2:-1}" ] && return 0; sleep 0.1; done; echo "not logged: $1"; cat $err; return 1; }
`;

describe('daemon config: bad files, SIGHUP, re-shaping', function () {
  this.timeout(240000);

  it('refuses every file of the bad-config corpus in one clear line with exit 2, --validate and a command alike, changing nothing on the host', () => {
    const files = fs.readdirSync(INVALID).filter((f) => f.endsWith('.json')).sort();
    const r = inFreshHost(`snapshot() { ip -o link; ip -o addr; nft list ruleset; cat /proc/sys/net/ipv4/ip_forward; ls /run/netns; find $TSNET_STATE_DIR; }
      snapshot > /tmp/before-$$
      for f in ${files.join(' ')}; do
        for cmd in "daemon --validate" "sandbox create x"; do
          set +e; TSNET_CONFIG=${INVALID}/$f tsnet $cmd > /tmp/out-$$ 2> /tmp/err-$$; rc=$?; set -e
          echo "== $f $cmd rc=$rc stdout=$(wc -c < /tmp/out-$$) lines=$(wc -l < /tmp/err-$$)"; cat /tmp/err-$$
        done
      done
      snapshot | diff /tmp/before-$$ - && echo host-unchanged`, {}, 180000);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /host-unchanged\n$/);
    for (const f of files) {
      const expected = fs.readFileSync(path.join(INVALID, f.replace(/\.json$/, '.error')), 'utf8').trim();
      for (const cmd of ['daemon --validate', 'sandbox create x']) {
        const m = new RegExp(`== ${f.replace(/\./g, '\\.')} ${cmd} rc=(\\d+) stdout=(\\d+) lines=(\\d+)\\n(.*)\\n`).exec(r.stdout);
        assert.ok(m, `${f} ${cmd}: ${r.stdout}`);
        assert.deepEqual(m.slice(1, 4), ['2', '0', '1'], `${f} ${cmd}: ${m[0]}`);
        const line = `tsnet: daemon config ${path.join(INVALID, f)}: ${expected.replace(/…$/, '')}`;
        assert.ok(expected.endsWith('…') ? m[4].startsWith(line) : m[4] === line, `${f} ${cmd}: ${m[4]}`);
      }
    }
  });

  it('SIGHUP: dns*, default-address-pools and the firewall keys apply at once, mtu waits for a restart, an invalid file keeps the running config', () => {
    const r = inFreshHost(`${DAEMON}
      cfg=$(mktemp); export TSNET_CONFIG=$cfg
      echo '{"dns": ["192.0.2.1"]}' > $cfg
      start_daemon
      tsnet sandbox create s1 >/dev/null; tsnet sandbox exec s1 -- grep nameserver /etc/resolv.conf
      echo '{"dns": ["192.0.2.2"], "mtu": 1400, "default-address-pools": [{"base": "10.30.0.0/16", "size": 24}]}' > $cfg
      kill -HUP $d; logged 'reloaded dns'
      tsnet sandbox create s2 >/dev/null; tsnet sandbox exec s2 -- grep nameserver /etc/resolv.conf
      tsnet create p1 >/dev/null; tsnet inspect p1 | grep '"Subnet"'
      ip -o link show tsnet0 | grep -o 'mtu [0-9]*'
      echo '{"dns": "192.0.2.3"}' > $cfg
      kill -HUP $d; logged 'keeping the running config'
      # The daemon's config, not the broken file, is what commands use while it runs.
      tsnet sandbox create s3 >/dev/null; tsnet sandbox exec s3 -- grep nameserver /etc/resolv.conf
      echo '{"dns": ["192.0.2.2"], "mtu": 1400, "default-address-pools": [{"base": "10.30.0.0/16", "size": 24}], "iptables": false}' > $cfg
      kill -HUP $d; logged 'reloaded iptables'
      nft list ruleset | grep -c 'table inet tsnet' || true
      tsnet sandbox create s4 -p 8080:80 2>&1 || true
      echo '{"dns": ["192.0.2.2"], "mtu": 1400, "default-address-pools": [{"base": "10.30.0.0/16", "size": 24}]}' > $cfg
      kill -HUP $d; logged 'reloaded iptables' 2
      for i in $(seq 50); do nft list set inet tsnet bridges 2>/dev/null | grep -q '"tsnet0"' && break; sleep 0.1; done
      nft list set inet tsnet bridges | grep -c '"tsnet0"'
      stop_daemon; cat $err`);
    assert.equal(r.status, 0, r.out);
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 4), ['nameserver 192.0.2.1', 'nameserver 192.0.2.2', '                    "Subnet": "10.30.0.0/24",', 'mtu 1500']);
    assert.equal(lines[4], 'nameserver 192.0.2.2');
    assert.equal(lines[5], '0');
    assert.match(lines[6], /^tsnet: publishing ports needs the firewall/);
    assert.equal(lines[7], '1');
    const log = lines.slice(8).filter(Boolean);
    assert.equal(log.length, 4, log.join('\n'));
    assert.equal(log[0], 'tsnet daemon: daemon config: reloaded dns, default-address-pools; mtu changed but needs a daemon restart; still running with the old value');
    assert.match(log[1], /^tsnet daemon: SIGHUP: daemon config \/tmp\/\S+: "dns": 192\.0\.2\.3 is not a list of IP addresses; keeping the running config$/);
    assert.equal(log[2], 'tsnet daemon: daemon config: reloaded iptables; mtu changed but needs a daemon restart; still running with the old value');
    assert.equal(log[3], log[2]);
  });

  it('a daemon start re-shapes the default bridge to a changed config when no sandbox is on it, keeps it (naming them) when some are, removes it with "bridge": "none"', () => {
    const r = inFreshHost(`${DAEMON}
      cfg=$(mktemp); export TSNET_CONFIG=$cfg
      echo '{"bip": "10.131.0.1/24"}' > $cfg
      tsnet ls -q >/dev/null; ip -o -4 addr show tsnet0 | awk '{print $4}'
      echo '{"bip": "10.132.0.1/24", "mtu": 1400}' > $cfg
      start_daemon; stop_daemon
      ip -o -4 addr show tsnet0 | awk '{print $4}'; ip -o link show tsnet0 | grep -o 'mtu [0-9]*'
      tsnet sandbox create s1 >/dev/null
      echo '{"bip": "10.133.0.1/24"}' > $cfg
      start_daemon
      ip -o -4 addr show tsnet0 | awk '{print $4}'
      tsnet sandbox exec s1 -- ip -o -4 addr show eth0 | awk '{print $4}'
      stop_daemon
      tsnet sandbox rm s1 >/dev/null
      echo '{"bridge": "none"}' > $cfg
      start_daemon; stop_daemon
      ip link show tsnet0 2>&1 || true; tsnet ls --format json | grep -c '"Name":"bridge"' || true
      cat $err`);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.stdout, [
      '10.131.0.1/24', '10.132.0.1/24', 'mtu 1400', '10.132.0.1/24', '10.132.0.2/24', 'Device "tsnet0" does not exist.', '0',
      'tsnet daemon: default bridge re-shaped to the daemon config',
      'tsnet daemon: default bridge keeps its old shape: sandboxes s1 are on it; the daemon config\'s new one applies at a daemon start once they are gone',
      'tsnet daemon: default bridge removed: the daemon config sets "bridge": "none"', '',
    ].join('\n'));
  });
});
