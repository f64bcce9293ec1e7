#!/usr/bin/env node
/** The tsnet command for administrators, shaped like `docker network`. */
import { Command, CommanderError } from 'commander';
import { registerConnectCommands } from './commands/connect';
import { registerDaemonCommand } from './commands/daemon';
import { registerNetworkCommands } from './commands/network';
import { registerPortCommand } from './commands/port';
import { registerSandboxCommands } from './commands/sandbox';
import { registerSystemCommands } from './commands/system';
import { reportError } from './common';
import { err, out } from './io';

/** Builds the command tree (exported so tests can drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('tsnet')
    // Help and usage errors go where the command's output goes (the thin client's buffers in the daemon).
    .configureOutput({ writeOut: out, writeErr: err })
    .description('container networking: networks, sandboxes and the links between them')
    .option('--state-dir <dir>', 'state directory (default: $TSNET_STATE_DIR or /var/lib/tsnet)')
    .option('--firewall-backend <name>', 'iptables or nftables (default: daemon config, then what fits the host)')
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
  return program;
}

/** Runs one command line (the arguments after `tsnet`); resolves with its exit status. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return reportError(e);
  }
}

if (require.main === module) {
  // exec and run set the status of the command they ran.
  void runCli(process.argv.slice(2)).then((code) => { if (code !== 0) process.exitCode = code; });
}
