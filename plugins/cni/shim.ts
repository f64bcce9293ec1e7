/**
 * Builds the exec shim (plugins/cni/shim/tsnet-cni.c) with the system C compiler: a ~20 KB binary
 * that passes each command to the daemon's CNI socket and execs the node plugin when no daemon
 * listens. Its paths are compile-time macros, so it reads no file and parses nothing to find them.
 * Usage (part of `npm run build`): node build/plugins/cni/shim.js [OUTFILE]
 * builds build/plugins/cni/tsnet-cni-shim for this build tree; without a compiler it says so and
 * exits 0, and `tsnet-cni install` then installs the node plugin alone.
 */
import * as path from 'node:path';
import { compileC, ROOT } from '../shared/cc';
/** The shim's source, read from the repository (tsc does not copy C). */
export const SHIM_SOURCE = path.join(ROOT, 'plugins', 'cni', 'shim', 'tsnet-cni.c');
/** Where `npm run build` puts the shim. */
export const BUILT_SHIM = path.join(ROOT, 'build', 'plugins', 'cni', 'tsnet-cni-shim');

/** What the shim has baked in. */
export interface ShimConfig {
  /** node, by absolute path: runtimes exec plugins with a minimal PATH. */
  node: string;
  /** The node plugin's script: the install wrapper (bundle and code cache) or build/plugins/cni/main.js. */
  plugin: string;
  /** tsnet's CLI script, run as `node CLI --state-dir DIR daemon` to start the daemon. */
  cli: string;
  /** State directory used when the runtime's environment has no TSNET_STATE_DIR. */
  stateDir: string;
  /** Whether a command that finds no daemon starts one for the commands after it. */
  startDaemon: boolean;
}

/** The build tree's defaults: this node, the unbundled plugin, the CLI beside it, $TSNET_STATE_DIR or /var/lib/tsnet. */
export function defaultShimConfig(over: Partial<ShimConfig> = {}): ShimConfig {
  return {
    node: process.execPath,
    plugin: path.join(ROOT, 'build', 'plugins', 'cni', 'main.js'),
    cli: path.join(ROOT, 'build', 'src', 'cli', 'main.js'),
    // As the core's defaultStateDir(), without loading the core for it.
    stateDir: process.env.TSNET_STATE_DIR || '/var/lib/tsnet',
    startDaemon: true,
    ...over,
  };
}

/** A C string literal of s (paths with quotes or backslashes stay intact). */
const cString = (s: string) => JSON.stringify(s);

/**
 * Compiles the shim into outfile (written beside and renamed over: a runtime may be exec'ing the old
 * one). 'no-compiler' when $CC (default cc) is not installed; a compile error throws.
 */
export function compileShim(outfile: string, config: ShimConfig): 'built' | 'no-compiler' {
  for (const p of [config.node, config.plugin, config.cli, config.stateDir]) {
    if (!path.isAbsolute(p)) throw new Error(`shim: ${p} is not an absolute path`);
  }
  return compileC(SHIM_SOURCE, outfile, {
    TSNET_NODE: cString(config.node),
    TSNET_PLUGIN: cString(config.plugin),
    TSNET_CLI: cString(config.cli),
    TSNET_STATE_DIR: cString(config.stateDir),
    TSNET_START_DAEMON: config.startDaemon ? '1' : '0',
  });
}

if (require.main === module) {
  const out = process.argv[2] ?? BUILT_SHIM;
  try {
    if (compileShim(out, defaultShimConfig()) === 'built') process.stdout.write(`${out}\n`);
    else process.stdout.write(`shim: no C compiler (${process.env.CC || 'cc'}): skipped; tsnet-cni install will install the node plugin alone\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
