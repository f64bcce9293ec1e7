import { strict as assert } from 'node:assert';
import { type CliRequest, decodeCliRequest, type DaemonIdentity, encodeCliRequest, routeCommand } from '../../../src/cli/wire';

const CONFIG = JSON.stringify({ mtu: 1500 });
const DAEMON: DaemonIdentity = { stateDir: '/var/lib/tsnet', env: { TSNET_DEBUG: undefined }, netns: '4026531840', mntns: '4026531841', config: { running: CONFIG, copy: CONFIG } };
const req = (argv: string[], env: Record<string, string> = {}, cwd = '/root'): CliRequest => ({ argv, cwd, env: { TSNET_CLIENT_NETNS: '4026531840', TSNET_CLIENT_MNTNS: '4026531841', ...env } });

describe('cli wire', () => {
  it('round-trips a request, byte for byte, and waits for a whole one', () => {
    const r = req(['inspect', '-f', '{{.Name}}', 'ünï', ''], { TSNET_STATE_DIR: '/x=y' });
    const buf = encodeCliRequest(r);
    assert.deepEqual(decodeCliRequest(buf), r);
    for (let n = 0; n < buf.length; n++) assert.equal(decodeCliRequest(buf.subarray(0, n)), undefined, `${n} bytes`);
    assert.throws(() => decodeCliRequest(Buffer.concat([buf, Buffer.from('x')])), /after the request/);
    assert.throws(() => decodeCliRequest(Buffer.from('CNI1....')), /bad magic/);
  });

  it('routes: read-only, change, or declined', () => {
    const cases: [CliRequest, string][] = [
      [req(['ls']), 'read-only'], [req(['inspect', 'x']), 'read-only'], [req(['network', 'ls']), 'read-only'], [req(['sandbox', 'inspect', 'a']), 'read-only'],
      [req([]), 'read-only'], [req(['run', '--help']), 'read-only'], [req(['help', 'create']), 'read-only'], [req(['port', 'a']), 'read-only'],
      [req(['create', 'n']), 'change'], [req(['connect', '--ip', '1.2.3.4', 'n', 's']), 'change'], [req(['sandbox', 'rm', 's']), 'change'], [req(['system', 'gc']), 'change'],
      [req(['run', '--name', 'x', '--', 'true']), 'decline'], [req(['sandbox', 'exec', 's', '--', 'ls']), 'decline'], [req(['daemon']), 'decline'],
      [req(['--state-dir', '/var/lib/tsnet', 'ls']), 'read-only'], [req(['--state-dir=../lib/tsnet', 'ls'], {}, '/var/x'), 'read-only'],
      [req(['--state-dir', '/tmp/other', 'ls']), 'decline'], [req(['ls'], { TSNET_STATE_DIR: '/tmp/other' }), 'decline'], [req(['--state-dir']), 'decline'],
      [req(['--firewall-backend', 'iptables', 'ls']), 'decline'], [req(['ls'], { TSNET_CONFIG: '/etc/other.json' }), 'read-only'], [req(['ls'], { TSNET_DEBUG: '1' }), 'decline'],
      [req(['ls'], { TSNET_CLIENT_NETNS: '1' }), 'decline'], [{ argv: ['ls'], cwd: '/', env: {} }, 'decline'],
    ];
    for (const [r, want] of cases) assert.equal(routeCommand(r, DAEMON), want, `${r.argv.join(' ')} ${JSON.stringify(r.env)}`);
  });

  it('declines when the config a direct run would take is not the one the daemon runs with', () => {
    // With a daemon running, a direct command takes its published copy whatever TSNET_CONFIG names.
    assert.equal(routeCommand(req(['create', 'n'], { TSNET_CONFIG: '/etc/other.json' }), DAEMON), 'change');
    // No copy (the daemon starting or stopping): the command would read the file, the daemon does not.
    assert.equal(routeCommand(req(['ls']), { ...DAEMON, config: { running: CONFIG, copy: undefined } }), 'decline');
    // A copy the daemon is not running with (a reload between the two).
    assert.equal(routeCommand(req(['ls']), { ...DAEMON, config: { running: CONFIG, copy: JSON.stringify({ mtu: 9000 }) } }), 'decline');
  });
});
