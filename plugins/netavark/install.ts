/**
 * `tsnet-netavark install [DIR] [--name NAME] [--state-dir DIR]`: writes the executable podman runs
 * into a helper_binaries_dir (default /usr/local/libexec/podman, the first directory podman searches)
 * as `netavark`. Podman runs teardown from `podman container cleanup` with a minimal environment, so
 * the state directory is fixed in the script at install (default: $TSNET_STATE_DIR, else
 * /var/lib/tsnet) and used for every call, whatever the caller's environment says.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** podman's first default helper_binaries_dir. */
export const DEFAULT_HELPER_DIR = '/usr/local/libexec/podman';
/** The name podman looks for. */
export const HELPER_NAME = 'netavark';

/** The script: node by absolute path, the state directory fixed, then the face's entry point. */
export function helperScript(o: { node?: string; entry?: string; stateDir: string }): string {
  const node = o.node ?? process.execPath;
  const entry = o.entry ?? path.join(__dirname, 'main.js');
  return `#!${node}
'use strict';
// tsnet-netavark, installed by \`tsnet-netavark install\`: teardown runs with a minimal environment, so the state directory is fixed here.
process.env.TSNET_STATE_DIR = ${JSON.stringify(o.stateDir)};
// The firewall tools are found through PATH, which a bare environment may lack.
process.env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
require(${JSON.stringify(entry)});
`;
}

/** Writes dir/name atomically (rename), so podman exec'ing it meanwhile never sees half a file. */
export function writeHelper(dir: string, name: string, stateDir: string): string {
  if (!path.isAbsolute(stateDir)) throw new Error(`state directory ${stateDir} is not an absolute path`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, helperScript({ stateDir }), { mode: 0o755 });
  fs.renameSync(tmp, file);
  return file;
}

/** Runs the install command; returns the exit code. */
export function install(args: string[], out: { write(s: string): unknown }): number {
  let name = HELPER_NAME;
  let stateDir = process.env.TSNET_STATE_DIR || '/var/lib/tsnet';
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--name') name = args[++i] ?? '';
    else if (args[i] === '--state-dir') stateDir = args[++i] ?? '';
    else rest.push(args[i]);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || !path.isAbsolute(stateDir) || rest.length > 1 || rest.some((a) => a.startsWith('--'))) {
    out.write(`usage: tsnet-netavark install [DIR] [--name NAME] [--state-dir ABSOLUTE_DIR]   (DIR default ${DEFAULT_HELPER_DIR}, NAME default ${HELPER_NAME})\n`);
    return 2;
  }
  const file = writeHelper(rest[0] ?? DEFAULT_HELPER_DIR, name, stateDir);
  out.write(`installed ${file} (state directory ${stateDir}): set [engine] helper_binaries_dir = ["${path.dirname(file)}"] in containers.conf\n`);
  return 0;
}
