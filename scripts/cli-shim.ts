/**
 * Builds the tsnet thin client (src/cli/shim/tsnet.c) with the system C compiler into
 * build/src/cli/tsnet: it hands commands to the daemon's CLI socket and execs the node CLI when no
 * daemon serves it. Paths are compile-time macros. Without a compiler it says so and exits 0 (the
 * node CLI works alone). Usage (part of `npm run build`): node build/scripts/cli-shim.js [OUTFILE]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileC, ROOT } from '../plugins/shared/cc';

/** The shim's C source (it includes plugins/shared/shim/exec-shim.h by its relative path). */
export const CLI_SHIM_SOURCE = path.join(ROOT, 'src', 'cli', 'shim', 'tsnet.c');
/** Where `npm run build` puts it. */
export const BUILT_CLI_SHIM = path.join(ROOT, 'build', 'src', 'cli', 'tsnet');

/** Compiles the shim for node, cli and the default state directory; 'no-compiler' when $CC is missing. */
export function compileCliShim(outfile: string, config: { node: string; cli: string; stateDir: string }): 'built' | 'no-compiler' {
  for (const p of Object.values(config)) if (!path.isAbsolute(p)) throw new Error(`cli shim: ${p} is not an absolute path`);
  const defines = { TSNET_NODE: config.node, TSNET_CLI: config.cli, TSNET_STATE_DIR: config.stateDir };
  return compileC(CLI_SHIM_SOURCE, outfile, Object.fromEntries(Object.entries(defines).map(([k, v]) => [k, JSON.stringify(v)])));
}

if (require.main === module) {
  const out = process.argv[2] ?? BUILT_CLI_SHIM;
  // The bundle's loader when scripts/cli-bundle.ts made one, else the compiled entry point.
  const loader = path.join(ROOT, 'build', 'src', 'cli', 'tsnet-cli.js');
  const cli = fs.existsSync(loader) ? loader : path.join(ROOT, 'build', 'src', 'cli', 'main.js');
  try {
    if (compileCliShim(out, { node: process.execPath, cli, stateDir: '/var/lib/tsnet' }) !== 'built') process.stdout.write(`cli shim: no C compiler (${process.env.CC || 'cc'}): skipped; run build/src/cli/main.js\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
