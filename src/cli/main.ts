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
import { quietClosedPipes } from './pipes';

/** The version in tsnet's package.json (build/src/cli → the package root). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Builds the command tree (exported so tests can drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('tsnet')
    .description('container networking: networks, sandboxes and the links between them')
    .option('--state-dir <dir>', 'state directory (default: $TSNET_STATE_DIR or /var/lib/tsnet)')
    .option('--firewall-backend <name>', 'iptables or nftables (default: daemon config, then what fits the host)')
    .version(`tsnet version ${packageVersion()}`, '-v, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  registerNetworkCommands(program);
  registerNetworkCommands(program.command('network').description('manage networks (same verbs as the top level)'));
  registerConnectCommands(program);
  registerSandboxCommands(program);
  registerPortCommand(program);
  registerDaemonCommand(program);
  registerSystemCommands(program);
  registerCompletionCommands(program);
  attachExamples(program);
  return program;
}

async function main(): Promise<void> {
  quietClosedPipes();
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

// Run only as the program: the man page generator and tests load buildProgram alone.
if (require.main === module) void main();
