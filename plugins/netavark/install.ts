/**
 * `tsnet-netavark install [DIR] [--name NAME] [--state-dir DIR] [--node-only]`: writes the executable podman runs
 * into a helper_binaries_dir (default /usr/local/libexec/podman, the first directory podman searches)
 * as `netavark`. Podman runs teardown from `podman container cleanup` with a minimal environment, so
 * the state directory is fixed in the script at install (default: $TSNET_STATE_DIR, else
 * /var/lib/tsnet) and used for every call, whatever the caller's environment says.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedLoadSource, faceEntry, writeExecutable } from '../shared/loader';
import { BUILT_CLI, compileNetavarkShim } from './shim';

/** The daemon's socket and the request variable with the argv (server.ts; not imported: it would load the core here). */
const SOCKET_NAME = 'netavark.sock';
const ARGV_VARIABLE_NAME = 'TSNET_NETAVARK_ARGV';

/** podman's first default helper_binaries_dir. */
export const DEFAULT_HELPER_DIR = '/usr/local/libexec/podman';
/** The name podman looks for. */
export const HELPER_NAME = 'netavark';

/**
 * The script: node by absolute path and the state directory fixed. A setup or teardown goes to the
 * tsnet daemon's netavark socket when one listens (no module load, no store open: the daemon runs it
 * over its open Controller; the framing of plugins/cni/wire.ts); otherwise, or when the daemon does not
 * take it, the face runs here — the bundle through a V8 code cache kept beside it (written when
 * missing or rejected, e.g. after a rebuild), or main.js when there is no bundle.
 */
export function helperScript(o: { node?: string; entry?: string; stateDir: string }): string {
  const node = o.node ?? process.execPath;
  const entry = o.entry ?? path.join(__dirname, 'main.js');
  return `#!${node}
'use strict';
// tsnet-netavark, installed by \`tsnet-netavark install\`: teardown runs with a minimal environment, so the state directory is fixed here.
process.env.TSNET_STATE_DIR = ${JSON.stringify(o.stateDir)};
// The firewall tools are found through PATH, which a bare environment may lack.
process.env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const fs = require('fs'), path = require('path');
const file = ${JSON.stringify(entry)};

function runHere(stdin) {
  if (stdin !== undefined) globalThis.__tsnetNetavarkStdin = stdin;
${cachedLoadSource({ indent: '  ' })}}

/** Hands the call to the daemon; calls fallback when nothing was acked (the call did not run there). */
function viaDaemon(socket, argv, stdin, fallback) {
  const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const vars = { ${JSON.stringify(ARGV_VARIABLE_NAME)}: JSON.stringify(argv) };
  if (process.env.TSNET_DEBUG) vars.TSNET_DEBUG = process.env.TSNET_DEBUG;
  const env = Buffer.from(Object.entries(vars).map(([k, v]) => k + '=' + v + '\\0').join(''));
  const body = Buffer.from(stdin, 'utf8');
  const c = require('net').connect(socket);
  const chunks = [];
  // write, not end: the daemon's side closes when this one half-closes.
  c.on('connect', () => c.write(Buffer.concat([Buffer.from('CNI1'), u32(env.length), env, u32(body.length), body])));
  c.on('data', (d) => chunks.push(d));
  c.on('error', () => {});
  c.on('close', () => {
    const buf = Buffer.concat(chunks);
    if (!buf.length || buf[0] !== 65) return fallback();
    let at = 1;
    const take = (n) => (buf.length >= at + n ? buf.subarray(at, (at += n)) : undefined);
    const code = take(4), out = take(4), stdout = out && take(out.readUInt32BE()), err = stdout && take(4), stderr = err && take(err.readUInt32BE());
    if (!stderr) {
      // Acked but no whole reply: the daemon died mid-call; the call may be half done, as a killed netavark's.
      process.stdout.write(JSON.stringify({ error: 'tsnet-netavark: the tsnet daemon stopped during the call' }) + '\\n');
      process.exit(1);
    }
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    process.exitCode = code.readUInt32BE();
  });
}

const argv = process.argv.slice(2);
const verb = argv.find((a) => a === 'setup' || a === 'teardown');
if (!verb || argv.some((a) => a === '-f' || a.startsWith('--file'))) {
  runHere();
} else {
  const chunks = [];
  process.stdin.on('data', (d) => chunks.push(d));
  process.stdin.on('end', () => {
    const stdin = Buffer.concat(chunks).toString('utf8');
    const socket = path.join(process.env.TSNET_STATE_DIR, ${JSON.stringify(SOCKET_NAME)});
    if (fs.existsSync(socket)) viaDaemon(socket, argv, stdin, () => runHere(stdin));
    else runHere(stdin);
  });
}
`;
}

/** The file the helper loads: a fresh bundle when esbuild is installed, else the unbundled entry point. */
export function helperTarget(): Promise<string> {
  return faceEntry<typeof import('./bundle')>(__dirname, (b) => b.bundleNetavark());
}

/** Writes dir/name atomically (rename), so podman exec'ing it meanwhile never sees half a file. */
export function writeHelper(dir: string, name: string, stateDir: string, entry?: string): string {
  if (!path.isAbsolute(stateDir)) throw new Error(`state directory ${stateDir} is not an absolute path`);
  return writeExecutable(dir, name, helperScript({ stateDir, entry }));
}

/** How placeHelper installs. */
export interface PlaceOptions {
  /** false: the node helper as `name`, even when a C compiler is there. */
  shim?: boolean;
  /** The file the node helper loads (default: main.js; install passes the bundle). */
  entry?: string;
}

/**
 * Puts dir/name in place: the exec shim when it compiles (the node helper beside it as
 * `<name>-node`), else the node helper itself. Returns the file and what it is.
 */
export function placeHelper(dir: string, name: string, stateDir: string, opts: PlaceOptions = {}): { file: string; kind: 'shim' | 'node' } {
  if (opts.shim !== false) {
    const helper = writeHelper(dir, `${name}-node`, stateDir, opts.entry);
    const file = path.join(dir, name);
    if (compileNetavarkShim(file, { node: process.execPath, helper, cli: BUILT_CLI, stateDir }) === 'built') return { file, kind: 'shim' };
    fs.rmSync(helper, { force: true });
  }
  return { file: writeHelper(dir, name, stateDir, opts.entry), kind: 'node' };
}

/** Runs the install command; returns the exit code. */
export async function install(args: string[], out: { write(s: string): unknown }): Promise<number> {
  let name = HELPER_NAME;
  let stateDir = process.env.TSNET_STATE_DIR || '/var/lib/tsnet';
  const rest: string[] = [];
  let shim = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--node-only') shim = false;
    else if (args[i] === '--name') name = args[++i] ?? '';
    else if (args[i] === '--state-dir') stateDir = args[++i] ?? '';
    else rest.push(args[i]);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || !path.isAbsolute(stateDir) || rest.length > 1 || rest.some((a) => a.startsWith('--'))) {
    out.write(`usage: tsnet-netavark install [DIR] [--name NAME] [--state-dir ABSOLUTE_DIR] [--node-only]   (DIR default ${DEFAULT_HELPER_DIR}, NAME default ${HELPER_NAME})\n`);
    return 2;
  }
  const { file, kind } = placeHelper(rest[0] ?? DEFAULT_HELPER_DIR, name, stateDir, { shim, entry: await helperTarget() });
  const what = kind === 'shim' ? 'the exec shim (calls go to the tsnet daemon when it runs, else to node)' : 'the node helper';
  out.write(`installed ${file}, ${what}, state directory ${stateDir}: set [engine] helper_binaries_dir = ["${path.dirname(file)}"] in containers.conf\n`);
  return 0;
}
