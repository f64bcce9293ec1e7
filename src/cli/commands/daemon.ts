/**
 * `tsnet daemon`: runs the resident components in the foreground until SIGTERM/SIGINT — the embedded
 * resolver, the Docker plugin socket and the CNI socket. The daemon hosts faces, so this command
 * (unlike the others) also imports plugins/docker and plugins/cni.
 */
import type { Command } from 'commander';
import { DEFAULT_SOCKET, startDockerPlugin } from '../../../plugins/docker';
import { describe, runDaemon } from '../../index';

/** Registers `daemon`. */
export function registerDaemonCommand(program: Command): void {
  program.command('daemon').description('run the resident part of tsnet (embedded DNS, Docker plugin, CNI fast path) in the foreground')
    .option('--docker-socket <path>', 'Docker plugin socket', DEFAULT_SOCKET)
    .option('--no-docker-plugin', 'do not serve the Docker network and IPAM plugin')
    .option('--no-cni', 'do not serve CNI commands for the tsnet-cni shim on <state-dir>/cni.sock')
    .action(async (f: { dockerSocket: string; dockerPlugin: boolean; cni: boolean }, cmd: Command) => {
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
      let cni: { close(): Promise<void> } | undefined;
      if (f.cni) {
        try {
          // Loaded here, not at the top: every other tsnet command would pay for loading the plugin.
          const { startCniServer } = await import('../../../plugins/cni/server');
          cni = await startCniServer({ controller: daemon.controller, syncResolver: () => daemon.sync() });
        } catch (err) {
          // The shim runs every command through node when the socket is missing: slower, still correct.
          process.stderr.write(`tsnet daemon: CNI socket not started: ${describe(err)}\n`);
        }
      }
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
      });
      await cni?.close();
      await plugin?.close();
      await daemon.close();
    });
}
