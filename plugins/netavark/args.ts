/**
 * netavark's command line (netavark 1.4 src/main.rs, clap): global options before the subcommand,
 * `--opt VALUE` or `--opt=VALUE` or `-o VALUE`; `--rootless` takes a value (`--rootless=false`).
 */
import { NetavarkError } from './errors';

/** The verbs netavark 1.4 has. */
export type Verb = 'setup' | 'teardown' | 'update' | 'version';

/** A parsed command line. */
export interface NetavarkArgs {
  verb: Verb;
  /** setup/teardown: the container's network namespace path. */
  netns?: string;
  /** -f/--file: read the options from this file instead of stdin. */
  file?: string;
  /** -c/--config: netavark's run directory (podman's /run/containers/networks); tsnet keeps its state elsewhere. */
  config?: string;
  rootless: boolean;
  /** -a/--aardvark-binary: ignored, the names come from tsnet's resolver (podman passes it empty when there is none). */
  aardvarkBinary?: string;
}

const LONG: Record<string, keyof NetavarkArgs> = { file: 'file', config: 'config', rootless: 'rootless', 'aardvark-binary': 'aardvarkBinary' };
const SHORT: Record<string, keyof NetavarkArgs> = { f: 'file', c: 'config', r: 'rootless', a: 'aardvarkBinary' };
const VERBS: readonly string[] = ['setup', 'teardown', 'update', 'version'];

/** Parses argv (without node and script); throws a NetavarkError naming what is wrong. */
export function parseArgs(argv: string[]): NetavarkArgs {
  const out: Partial<Record<keyof NetavarkArgs, string>> = {};
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const arg = argv[i];
    if (arg === '--version' || arg === '-V') return { verb: 'version', rootless: false };
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = flag.startsWith('--') ? LONG[flag.slice(2)] : SHORT[flag.slice(1)];
    if (!key) throw new NetavarkError(`unknown option ${flag}: netavark [--config DIR] [--rootless BOOL] [--aardvark-binary PATH] [--file FILE] setup|teardown NETNS | version`);
    const value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new NetavarkError(`option ${flag} needs a value`);
    out[key] = value;
  }
  const verb = argv[i++];
  if (!verb || !VERBS.includes(verb)) throw new NetavarkError(verb ? `unknown command "${verb}": expected setup, teardown, update or version` : 'a command is required: setup, teardown, update or version');
  const rootless = out.rootless ?? 'false';
  if (rootless !== 'true' && rootless !== 'false') throw new NetavarkError(`invalid value "${rootless}" for --rootless: expected true or false`);
  const args: NetavarkArgs = { verb: verb as Verb, file: out.file, config: out.config, rootless: rootless === 'true', aardvarkBinary: out.aardvarkBinary };
  if (verb === 'setup' || verb === 'teardown') {
    const netns = argv[i++];
    if (!netns) throw new NetavarkError(`${verb}: the network namespace path is required`);
    args.netns = netns;
  }
  if (verb !== 'update' && i < argv.length) throw new NetavarkError(`unexpected argument "${argv[i]}"`);
  return args;
}
