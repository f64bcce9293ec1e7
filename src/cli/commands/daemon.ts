/** `tsnet daemon`: runs the resident components (embedded DNS) in the foreground until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { runDaemon } from '../../daemon/daemon';

/** Registers `daemon`. */
export function registerDaemonCommand(program: Command): void {
  program.command('daemon').description('run the resident part of tsnet (embedded DNS resolver) in the foreground')
    .action(async (_f: unknown, cmd: Command) => {
      const root = cmd.parent!.opts<{ stateDir?: string }>();
      const daemon = await runDaemon({ stateDir: root.stateDir });
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
      });
      await daemon.close();
    });
}
