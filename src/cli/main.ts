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

/** Builds the command tree (exported so tests can drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('tsnet')
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

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(err);
  }
}

void main();
