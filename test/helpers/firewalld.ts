/**
 * A real firewalld for a test, on a private system bus: its own dbus-daemon (socket, config in a
 * temp dir), firewalld with its configuration in that dir (`--system-config`), so the machine's
 * bus and /etc/firewalld are never touched. The test's process and every tsnet it starts reach it
 * through DBUS_SYSTEM_BUS_ADDRESS. Run inside a private host: firewalld programs the netns's firewall.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A running private firewalld. */
export interface PrivateFirewalld {
  /** The bus address its clients need (also set in process.env while it runs). */
  busAddress: string;
  /** Runs firewall-cmd against it; returns stdout (throws on failure). */
  cmd(...args: string[]): string;
  /** Stops firewalld (which removes its rules) and the bus, removes the temp dir, restores the env. */
  stop(): Promise<void>;
}

/** Whether firewalld and dbus-daemon are installed; the reason when not. */
export function firewalldMissing(): string | undefined {
  for (const bin of ['/usr/sbin/firewalld', '/usr/bin/firewall-cmd', '/usr/bin/dbus-daemon', '/usr/bin/dbus-send']) if (!fs.existsSync(bin)) return `${bin} is not installed (Debian: firewalld)`;
  return undefined;
}

const BUS_CONFIG = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`;

async function waitFor(what: string, ms: number, ok: () => boolean): Promise<void> {
  for (const deadline = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms} ms`);
  }
}

function stopProc(p: ChildProcess, ms = 10000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('exit', () => { clearTimeout(timer); resolve(); });
    p.kill('SIGTERM');
  });
}

/** Starts dbus-daemon and firewalld (backend 'nftables' or 'iptables') and waits until firewalld answers. */
export async function startFirewalld(backend: 'nftables' | 'iptables'): Promise<PrivateFirewalld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-firewalld-'));
  const socket = path.join(dir, 'bus.sock'), conf = path.join(dir, 'etc');
  fs.mkdirSync(conf);
  fs.writeFileSync(path.join(dir, 'bus.conf'), BUS_CONFIG(socket));
  fs.writeFileSync(path.join(conf, 'firewalld.conf'), `DefaultZone=public\nFirewallBackend=${backend}\nCleanupOnExit=yes\nLogDenied=off\n`);
  const busAddress = `unix:path=${socket}`;
  const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress };
  const log = fs.openSync(path.join(dir, 'log'), 'a');
  const bus = spawn('dbus-daemon', [`--config-file=${path.join(dir, 'bus.conf')}`, '--nofork', '--nopidfile'], { stdio: ['ignore', log, log] });
  let fwd: ChildProcess | undefined;
  const cmd = (...args: string[]) => execFileSync('firewall-cmd', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    if (fwd) await stopProc(fwd);
    await stopProc(bus);
    fs.closeSync(log);
    if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('dbus-daemon', 5000, () => fs.existsSync(socket));
    fwd = spawn('firewalld', ['--nofork', '--nopid', '--system-config', conf, '--log-target', 'file', '--log-file', path.join(dir, 'firewalld.log')], { env, stdio: ['ignore', log, log] });
    await waitFor('firewalld', 20000, () => {
      try {
        return cmd('--state').trim() === 'running';
      } catch {
        return false;
      }
    });
  } catch (err) {
    const text = fs.readFileSync(path.join(dir, 'log'), 'utf8');
    await stop();
    throw new Error(`${(err as Error).message}: ${text.slice(-2000)}`);
  }
  process.env.DBUS_SYSTEM_BUS_ADDRESS = busAddress;
  return { busAddress, cmd, stop };
}
