/**
 * `tsnet-cni install [DIR] [--name NAME] [--no-daemon-start] [--node-only]`: bundles the plugin (when
 * esbuild is present) and puts an executable into the CNI bin directory: the C exec shim, which
 * passes commands to the tsnet daemon and execs the node plugin when none runs; or, without a C
 * compiler (or with --node-only), the node plugin itself. The node plugin is a short script that
 * loads the bundle from the build tree, where the native modules (better-sqlite3, koffi) and etcd3 resolve.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedLoadSource, faceEntry, writeExecutable } from '../shared/loader';
import { compileShim, defaultShimConfig } from './shim';

/** Default CNI bin directory, as runtimes look for plugins. */
export const DEFAULT_BIN_DIR = '/opt/cni/bin';
/** Executable name: the config's "type". */
export const PLUGIN_NAME = 'tsnet-cni';
/** The node plugin the shim execs, written beside the file it loads (the bundle) in the build tree. */
export const LOADER_NAME = 'tsnet-cni-loader.js';

/**
 * The script the runtime execs: node by absolute path (runtimes exec plugins with a minimal PATH),
 * loading the bundle through a V8 code cache kept beside it, so later execs skip parsing and
 * compiling it. The cache is written (atomically) at the end of an ADD, the hot path, so it holds the
 * functions ADD compiled; again whenever V8 rejects it, e.g. after a rebuild.
 */
export function wrapperScript(target: string, node = process.execPath): string {
  return `#!${node}
'use strict';
const fs = require('fs'), path = require('path');
const file = ${JSON.stringify(target)};
${cachedLoadSource({ writeWhen: "process.env.CNI_COMMAND === 'ADD'" })}`;
}

/** Writes the wrapper atomically (rename), so a runtime exec'ing the plugin meanwhile never sees half a file. */
export function writeWrapper(dir: string, name: string, target: string): string {
  return writeExecutable(dir, name, wrapperScript(target));
}

/** The file the wrapper loads: a fresh bundle when esbuild is installed, else the unbundled entry point. */
function target(): Promise<string> {
  return faceEntry<typeof import('./bundle')>(__dirname, (b) => b.bundle());
}

/** How placePlugin installs. */
export interface PlaceOptions {
  /** false: the node plugin even when a compiler is there. */
  shim?: boolean;
  /** false: the shim never starts the daemon (it still uses one that runs). */
  startDaemon?: boolean;
}

/**
 * Puts dir/name in place for target (the bundle or main.js): the shim when it compiles, its node
 * plugin written beside target; else the node plugin itself. Returns the file and what it is.
 */
export function placePlugin(dir: string, name: string, target: string, opts: PlaceOptions = {}): { file: string; kind: 'shim' | 'node' } {
  if (opts.shim !== false) {
    fs.mkdirSync(dir, { recursive: true });
    const loader = writeWrapper(path.dirname(target), LOADER_NAME, target);
    const file = path.join(dir, name);
    // Compiled here rather than copied from the build: the loader's path and the state directory are baked in.
    if (compileShim(file, defaultShimConfig({ plugin: loader, startDaemon: opts.startDaemon ?? true })) === 'built') return { file, kind: 'shim' };
  }
  return { file: writeWrapper(dir, name, target), kind: 'node' };
}

/** Runs the install command; returns the exit code. */
export async function install(args: string[], out: { write(s: string): unknown }): Promise<number> {
  let name = PLUGIN_NAME;
  const opts: PlaceOptions = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--name') name = args[++i] ?? '';
    else if (args[i] === '--no-daemon-start') opts.startDaemon = false;
    else if (args[i] === '--node-only') opts.shim = false;
    else rest.push(args[i]);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || rest.length > 1 || rest.some((a) => a.startsWith('--'))) {
    out.write(`usage: tsnet-cni install [DIR] [--name NAME] [--no-daemon-start] [--node-only]   (DIR default ${DEFAULT_BIN_DIR})\n`);
    return 2;
  }
  const { file, kind } = placePlugin(rest[0] ?? DEFAULT_BIN_DIR, name, await target(), opts);
  out.write(kind === 'shim'
    ? `installed ${file}: commands go to the tsnet daemon's CNI socket when it runs, else to node${opts.startDaemon === false ? '' : ', starting the daemon for the next ones'}\n`
    : `installed ${file}: the node plugin${opts.shim === false ? '' : ` (no C compiler ${process.env.CC || 'cc'} for the exec shim)`}\n`);
  return 0;
}
