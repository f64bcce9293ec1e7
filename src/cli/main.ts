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

/** Builds the command tree (exported so tests can drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('tsnet')
    // Help and usage errors go where the command's output goes (the thin client's buffers in the daemon).
    .configureOutput({ writeOut: out, writeErr: err })
    .description('container networking: networks, sandboxes and the links between them')
    .option('--state-dir <dir>', 'state directory (default: $TSNET_STATE_DIR or /var/lib/tsnet)')
    .option('--firewall-backend <name>', 'iptables or nftables (default: daemon config, then what fits the host)')
    .version(`tsnet version ${packageVersion()}`, '-v, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  registerNetworkCommands(program);
  const network = program.command('network').description('manage networks (same verbs as the top level)');
  registerNetworkCommands(network);
  registerConnectCommands(network);
  registerConnectCommands(program);
  registerSandboxCommands(program);
  registerPortCommand(program);
  registerDaemonCommand(program);
  registerSystemCommands(program);
  registerCompletionCommands(program);
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
    await buildProgram().parseAsync(argv, { from: 'user' });
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
