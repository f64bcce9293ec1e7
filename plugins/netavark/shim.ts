/**
 * Builds the exec shim (plugins/netavark/shim/tsnet-netavark.c) with the system C compiler: a small
 * binary that hands setup and teardown to the daemon's netavark socket and execs the node helper
 * otherwise. Its paths are compile-time macros, so it reads no file to find them.
 */
import * as path from 'node:path';
import { compileC, ROOT } from '../shared/cc';

/** The shim's source, read from the repository (tsc does not copy C). */
export const SHIM_SOURCE = path.join(ROOT, 'plugins', 'netavark', 'shim', 'tsnet-netavark.c');

/** What the shim has baked in (absolute paths). */
export interface NetavarkShimConfig {
  node: string;
  helper: string;
  cli: string;
  stateDir: string;
}

/** Compiles the shim into outfile (written beside and renamed over); 'no-compiler' when $CC (default cc) is missing. */
export function compileNetavarkShim(outfile: string, config: NetavarkShimConfig): 'built' | 'no-compiler' {
  for (const p of Object.values(config)) if (!path.isAbsolute(p)) throw new Error(`shim: ${p} is not an absolute path`);
  const defines = { TSNET_NODE: config.node, TSNET_HELPER: config.helper, TSNET_CLI: config.cli, TSNET_STATE_DIR: config.stateDir };
  return compileC(SHIM_SOURCE, outfile, Object.fromEntries(Object.entries(defines).map(([k, v]) => [k, JSON.stringify(v)])));
}

/** tsnet's CLI script in this build tree (the shim starts `tsnet daemon` with it). */
export const BUILT_CLI = path.join(ROOT, 'build', 'src', 'cli', 'main.js');
