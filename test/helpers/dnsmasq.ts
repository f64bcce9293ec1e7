/** A real upstream DNS server for resolver tests: dnsmasq in a namespace the test made. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as path from 'node:path';

/**
 * Starts dnsmasq in namespace ns, listening on ip, answering every name under domain with answer and
 * nothing else; resolves once it answers probe (a name under domain). tmp holds its pid file; why
 * (optional) adds what a failure should show.
 */
export async function startDnsmasq(opts: { ns: string; ip: string; domain: string; answer: string; probe: string; tmp: string; why?: () => string }): Promise<ChildProcess> {
  const { ns, ip } = opts;
  const child = spawn('ip', ['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null',
    `--listen-address=${ip}`, '--bind-interfaces', `--address=/${opts.domain}/${opts.answer}`, `--pid-file=${path.join(opts.tmp, 'dnsmasq.pid')}`,
    '--user=root', '--log-facility=-'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const r = await new Promise<string>((res) => execFile('dig', ['+short', '+tries=1', '+time=1', `@${ip}`, opts.probe], (_e, out) => res(String(out))));
    if (r.trim() === opts.answer) return child;
    await new Promise((res) => setTimeout(res, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`dnsmasq did not answer on ${ip}${opts.why ? `; ${opts.why()}` : ''}`);
}
