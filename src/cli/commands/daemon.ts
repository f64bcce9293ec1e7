/**
 * `tsnet daemon`: runs the resident components in the foreground until SIGTERM/SIGINT — the embedded
 * resolver and the Docker plugin socket. The daemon hosts faces, so this command (unlike the others)
 * also imports plugins/docker.
 */
import type { Command } from 'commander';
import { DEFAULT_SOCKET, startDockerPlugin } from '../../../plugins/docker';
import { describe, runDaemon } from '../../index';

/** Registers `daemon`. */
export function registerDaemonCommand(program: Command): void {
  program.command('daemon').description('run the resident part of tsnet (embedded DNS, Docker plugin) in the foreground')
    .option('--docker-socket <path>', 'Docker plugin socket', DEFAULT_SOCKET)
    .option('--no-docker-plugin', 'do not serve the Docker network and IPAM plugin')
    .action(async (f: { dockerSocket: string; dockerPlugin: boolean }, cmd: Command) => {
      const root = cmd.parent!.opts<{ stateDir?: string }>();
      const daemon = await runDaemon({ stateDir: root.stateDir });
      let plugin: { close(): Promise<void> | void } | undefined;
      if (f.dockerPlugin) {
        try {
          plugin = await startDockerPlugin({ controller: daemon.controller, socketPath: f.dockerSocket });
        } catch (err) {
          // DNS must keep working when another daemon (another state directory) already serves Docker.
          process.stderr.write(`tsnet daemon: docker plugin not started: ${describe(err)}\n`);
        }
      }
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
      });
      await plugin?.close();
      await daemon.close();
    });
}
