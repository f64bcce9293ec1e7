#!/usr/bin/env node
/** The tsnet command for administrators, shaped like `docker network`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerConnectCommands } from './commands/connect';
import { registerDaemonCommand } from './commands/daemon';
import { registerNetworkCommands } from './commands/network';
import { registerPortCommand } from './commands/port';
import { registerSandboxCommands } from './commands/sandbox';
import { registerSystemCommands } from './commands/system';
import { reportError } from './common';
import { registerCompletionCommands } from './help/completion';
import { attachExamples } from './help/examples';
import { err, out } from './io';

/** The version in tsnet's package.json (build/src/cli → the package root). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** The network group: the network verbs and connect/disconnect under `tsnet network`. */
function registerNetworkGroup(program: Command): void {
  const network = program.command('network').description('manage networks (same verbs as the top level)');
  registerNetworkCommands(network);
  registerConnectCommands(network);
}

/**
 * Each part of the command tree, in help order, with the top-level names (and aliases) it adds, so a
 * command line builds only the part its command is in (test/unit/cli/help.test.ts checks the names).
 */
export const COMMAND_PARTS: readonly { names: readonly string[]; register(program: Command): void }[] = [
  { names: ['create', 'ls', 'list', 'inspect', 'rm', 'remove', 'prune'], register: registerNetworkCommands },
  { names: ['network'], register: registerNetworkGroup },
  { names: ['connect', 'disconnect'], register: registerConnectCommands },
  { names: ['sandbox', 'run'], register: registerSandboxCommands },
  { names: ['port'], register: registerPortCommand },
  { names: ['daemon'], register: registerDaemonCommand },
  { names: ['system'], register: registerSystemCommands },
  { names: ['completion', '__complete'], register: registerCompletionCommands },
];

/** The root's options that take a value: their values are not the command word. */
const ROOT_VALUE_OPTIONS = ['--state-dir', '--firewall-backend'];

/**
 * The part of the tree a command line needs: the one holding its command word, or undefined for the
 * whole tree (help, --version, an unknown command or root option, whose messages name every command,
 * and completion, which walks them all).
 */
export function commandPart(argv: readonly string[]): (typeof COMMAND_PARTS)[number] | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (ROOT_VALUE_OPTIONS.includes(arg)) i++;
    else if (!ROOT_VALUE_OPTIONS.some((o) => arg.startsWith(`${o}=`))) {
      if (arg.startsWith('-')) return undefined;
      const part = COMMAND_PARTS.find((p) => p.names.includes(arg));
      return part?.names.includes('__complete') ? undefined : part;
    }
  }
  return undefined;
}

/**
 * Builds the command tree (exported so tests can drive it in-process): for argv, only the part its
 * command is in (building every command and option costs a one-shot `tsnet ls` a few ms), else all.
 */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command('tsnet')
    // Help and usage errors go where the command's output goes (the thin client's buffers in the daemon).
    .configureOutput({ writeOut: out, writeErr: err })
    .description('container networking: networks, sandboxes and the links between them')
    .option('--state-dir <dir>', 'state directory (default: $TSNET_STATE_DIR or /var/lib/tsnet)')
    .option('--firewall-backend <name>', 'iptables or nftables (default: daemon config, then what fits the host)')
    .version(`tsnet version ${packageVersion()}`, '-v, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  const part = argv && commandPart(argv);
  for (const p of part ? [part] : COMMAND_PARTS) p.register(program);
  attachExamples(program);
  return program;
}

/**
 * Runs one command line (the arguments after `tsnet`); resolves with its exit status. Output goes
 * through io.ts (out/err): the process's own descriptors, where a closed reader (`tsnet ls | head -1`)
 * ends the output quietly, or the thin client's buffers when the daemon runs the command.
 */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram(argv).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return reportError(e);
  }
}

// Run only as the program: the man page generator and tests load buildProgram alone.
if (require.main === module) {
  // exec and run set the status of the command they ran.
  void runCli(process.argv.slice(2)).then((code) => { if (code !== 0) process.exitCode = code; });
}
