/**
 * `tsnet daemon`: runs the resident components in the foreground until SIGTERM/SIGINT — the embedded
 * resolver, the Docker plugin socket and the CNI socket. The daemon hosts faces, so this command
 * (unlike the others) also imports plugins/docker and plugins/cni; it only lists them as resident
 * services, runDaemon starts and stops them.
 */
import type { Command } from 'commander';
import { DEFAULT_SOCKET, startDockerPlugin } from '../../../plugins/docker';
import { type ResidentService, runDaemon } from '../../index';

interface DaemonFlags { dockerSocket: string; dockerPlugin: boolean; cni: boolean }

/** The Docker network and IPAM plugin on socketPath, over the daemon's controller. */
function dockerPluginService(socketPath: string): ResidentService {
  // Named so the daemon's report reads "docker plugin not started: …", as before services were composed.
  return { name: 'docker plugin', start: ({ controller }) => startDockerPlugin({ controller, socketPath }) };
}

/** The CNI socket the tsnet-cni shim hands its commands to. */
function cniService(): ResidentService {
  return {
    name: 'CNI socket',
    async start({ controller, sync }) {
      // Loaded here, not at the top: every other tsnet command would pay for loading the plugin.
      const { startCniServer } = await import('../../../plugins/cni/server');
      return startCniServer({ controller, syncResolver: sync });
    },
  };
}

/** The services the flags ask for; the Docker plugin first, so it stops last. */
function services(f: DaemonFlags): ResidentService[] {
  const out: ResidentService[] = [];
  if (f.dockerPlugin) out.push(dockerPluginService(f.dockerSocket));
  if (f.cni) out.push(cniService());
  return out;
}

/** Registers `daemon`. */
export function registerDaemonCommand(program: Command): void {
  program.command('daemon').description('run the resident part of tsnet (embedded DNS, Docker plugin, CNI fast path) in the foreground')
    .option('--docker-socket <path>', 'Docker plugin socket', DEFAULT_SOCKET)
    .option('--no-docker-plugin', 'do not serve the Docker network and IPAM plugin')
    .option('--no-cni', 'do not serve CNI commands for the tsnet-cni shim on <state-dir>/cni.sock')
    .action(async (f: DaemonFlags, cmd: Command) => {
      const root = cmd.parent!.opts<{ stateDir?: string }>();
      const daemon = await runDaemon({
        stateDir: root.stateDir,
        services: services(f),
        // DNS must keep working when a service cannot start: another daemon (another state directory)
        // may already serve Docker, and the shim runs CNI commands through node without the socket.
        onServiceError: (msg) => process.stderr.write(`tsnet daemon: ${msg}\n`),
      });
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
      });
      await daemon.close();
    });
}
