/**
 * Entry point that runs a command inside a sandbox, started by `tsnet sandbox exec` under
 * `unshare --mount --uts --propagation private`: it bind-mounts the sandbox's resolv.conf, hosts and
 * hostname over /etc, sets the hostname, enters the network namespace and runs the command.
 * argv: KEY FILES_DIR HOSTNAME [DOMAINNAME] -- CMD [ARGS…]   (KEY "host" keeps the host's stack)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signalExitCode } from './exec';
import { MS_BIND, check, libc } from './libc';
import { withNetns } from './netns';

function main(argv: string[]): number {
  const sep = argv.indexOf('--');
  const [key, filesDir, hostname, domainname] = argv.slice(0, sep);
  const cmd = argv.slice(sep + 1);
  if ((sep !== 3 && sep !== 4) || !cmd.length) {
    process.stderr.write('usage: sandbox-exec KEY FILES_DIR HOSTNAME [DOMAINNAME] -- CMD [ARGS…]\n');
    return 2;
  }
  const c = libc();
  for (const file of ['resolv.conf', 'hosts', 'hostname']) {
    const src = path.join(filesDir, file);
    if (fs.existsSync(src) && fs.existsSync(`/etc/${file}`)) check(c.mount(src, `/etc/${file}`, null, MS_BIND, null), `bind ${file}`);
  }
  check(c.sethostname(hostname, Buffer.byteLength(hostname)), 'sethostname');
  if (domainname) check(c.setdomainname(domainname, Buffer.byteLength(domainname)), 'setdomainname');
  // spawnSync forks from this (the main) thread, so the child is born inside the namespace.
  const run = () => spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  const r = key === 'host' ? run() : withNetns(key, run);
  if (r.error) {
    process.stderr.write(`tsnet: exec ${cmd[0]}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : r.error.message}\n`);
    return 127;
  }
  return r.status ?? (r.signal ? signalExitCode(r.signal) : 1);
}

process.exit(main(process.argv.slice(2)));
