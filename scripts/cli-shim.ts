/**
 * Builds the tsnet thin client (src/cli/shim/tsnet.c) with the system C compiler into
 * build/src/cli/tsnet: it hands commands to the daemon's CLI socket and execs the node CLI when no
 * daemon serves it. Paths are compile-time macros. Without a compiler it says so and exits 0 (the
 * node CLI works alone). Usage (part of `npm run build`): node build/scripts/cli-shim.js [OUTFILE]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Repository root, from build/scripts or scripts alike. */
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../..' : '..');
/** The shim's C source. */
export const CLI_SHIM_SOURCE = path.join(ROOT, 'src', 'cli', 'shim', 'tsnet.c');
/** Where `npm run build` puts it. */
export const BUILT_CLI_SHIM = path.join(ROOT, 'build', 'src', 'cli', 'tsnet');

/** Compiles the shim for node, cli and the default state directory; 'no-compiler' when $CC is missing. */
export function compileCliShim(outfile: string, config: { node: string; cli: string; stateDir: string }): 'built' | 'no-compiler' {
  for (const p of Object.values(config)) if (!path.isAbsolute(p)) throw new Error(`cli shim: ${p} is not an absolute path`);
  const tmp = `${outfile}.tmp-${process.pid}`;
  const defines = { TSNET_NODE: config.node, TSNET_CLI: config.cli, TSNET_STATE_DIR: config.stateDir };
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  try {
    execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-o', tmp, CLI_SHIM_SOURCE, ...Object.entries(defines).map(([k, v]) => `-D${k}=${JSON.stringify(v)}`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'no-compiler';
    throw new Error(`cli shim: ${process.env.CC || 'cc'} failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, outfile);
  return 'built';
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
