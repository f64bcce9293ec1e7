/**
 * `tsnet daemon`: runs the resident components in the foreground until SIGTERM/SIGINT — the embedded
 * resolver, the Docker plugin sockets (tsnet.sock: bridge and IPAM; tsnet-macvlan.sock), the CNI socket and the netavark socket. The daemon hosts faces, so this command
 * (unlike the others) also imports plugins/docker, plugins/cni and plugins/netavark; it only lists them as resident
 * services, runDaemon starts and stops them.
 */
import { type Command, Option } from 'commander';
import { DEFAULT_SOCKET, driverSocketPath, SECOND_DRIVERS } from '../../../plugins/docker/constants';
import type { ConfigReport, DaemonConfig, DaemonRole, ResidentService } from '../../index';
// The daemon's own log lines go to its stderr, never into a command the CLI socket runs (io.ts).
import { out } from '../io';
import { core, invalid } from '../lazy';

/** The Docker plugin, loaded when the daemon starts it (every other command would pay for loading it). */
const dockerPlugin = () => require('../../../plugins/docker') as typeof import('../../../plugins/docker');

interface DaemonFlags {
  dockerSocket: string; dockerPlugin: boolean; cni: boolean; netavark: boolean; cliSocket: boolean; role?: DaemonRole | 'all'; supervisor?: string;
  clusterStore?: string; clusterAdvertise?: string; clusterStoreOpt: string[]; validate?: boolean; configFile?: string;
}

/** daemon.json with the daemon's own cluster flags over it (Docker's names); they apply to the daemon only. */
function daemonConfig(f: DaemonFlags): DaemonConfig {
  return daemonConfigReport(f).config;
}

/** daemonConfig with what the daemon says about the file (keys it ignores, keys it takes differently). */
function daemonConfigReport(f: DaemonFlags): ConfigReport {
  const { checkDaemonConfig, readDaemonConfig } = core();
  const file = readDaemonConfig();
  const base = file.config;
  const opts = { ...(base['cluster-store-opts'] ?? {}) };
  for (const kv of f.clusterStoreOpt) {
    const i = kv.indexOf('=');
    if (i < 1) throw invalid(`--cluster-store-opt "${kv}": expected key=value`);
    opts[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const merged: Record<string, unknown> = { ...base };
  if (f.clusterStore) merged['cluster-store'] = f.clusterStore;
  if (f.clusterAdvertise) merged['cluster-advertise'] = f.clusterAdvertise;
  if (Object.keys(opts).length) merged['cluster-store-opts'] = opts;
  if ((!f.clusterStore && !f.clusterAdvertise && !f.clusterStoreOpt.length)) return file;
  return { ...file, config: checkDaemonConfig(merged, 'daemon flags and config').config };
}

/** Says, in one line each, which keys the daemon leaves to dockerd and which it takes differently. */
function sayAboutConfig(report: ConfigReport): void {
  for (const line of [core().ignoredKeysLine(report), ...report.notes]) if (line) process.stderr.write(`tsnet daemon: ${line}\n`);
}

/** The flags a child passes on unchanged. */
function clusterArgv(f: DaemonFlags): string[] {
  return [
    ...(f.clusterStore ? ['--cluster-store', f.clusterStore] : []),
    ...(f.clusterAdvertise ? ['--cluster-advertise', f.clusterAdvertise] : []),
    ...f.clusterStoreOpt.flatMap((o) => ['--cluster-store-opt', o]),
  ];
}

/** The command line of one supervised child: this CLI again, same state dir and flags, one role. */
function childArgv(f: DaemonFlags, stateDir: string | undefined, role: DaemonRole): string[] {
  const argv = [process.execPath, process.argv[1], ...(stateDir ? ['--state-dir', stateDir] : []), 'daemon', '--role', role, '--supervisor', String(process.pid), '--docker-socket', f.dockerSocket];
  if (!f.dockerPlugin) argv.push('--no-docker-plugin');
  if (!f.cni) argv.push('--no-cni');
  if (!f.netavark) argv.push('--no-netavark');
  if (!f.cliSocket) argv.push('--no-cli-socket');
  return [...argv, ...clusterArgv(f)];
}

/**
 * On SIGHUP, reads the config file again: a valid one goes to take(), an invalid one is logged in one
 * line and the running config stays.
 */
function onReload(f: DaemonFlags, take: (next: DaemonConfig) => Promise<void> | void): void {
  const { describe } = core();
  process.on('SIGHUP', () => {
    let next: DaemonConfig;
    try {
      next = daemonConfig(f);
    } catch (e) {
      process.stderr.write(`tsnet daemon: SIGHUP: ${describe(e)}; keeping the running config\n`);
      return;
    }
    void Promise.resolve(take(next)).catch((e) => process.stderr.write(`tsnet daemon: SIGHUP: ${describe(e)}\n`));
  });
}

/** Resolves on SIGTERM or SIGINT. */
function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
}

/** The Docker network and IPAM plugin on socketPath, over the daemon's controller. */
function dockerPluginService(socketPath: string): ResidentService {
  // Named so the daemon's report reads "docker plugin not started: …", as before services were composed.
  return { name: 'docker plugin', start: ({ controller }) => dockerPlugin().startDockerPlugin({ controller, socketPath }) };
}

/**
 * The NetworkDriver of another tsnet driver on its own socket beside the main one (Docker's remote
 * plugins are one driver per socket): `-d tsnet-macvlan` on <dir>/tsnet-macvlan.sock.
 */
function dockerDriverService(mainSocket: string, driver: string): ResidentService {
  const socketPath = driverSocketPath(mainSocket, driver);
  return { name: `docker ${driver} plugin`, start: ({ controller }) => dockerPlugin().startDockerPlugin({ controller, socketPath, driver }) };
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

/** The socket tsnet-netavark (podman's netavark) hands its setup and teardown to. */
function netavarkService(): ResidentService {
  return {
    name: 'netavark socket',
    async start({ controller, sync }) {
      const { startNetavarkServer } = await import('../../../plugins/netavark/server');
      return startNetavarkServer({ controller, syncResolver: sync });
    },
  };
}

/** The socket the thin `tsnet` client hands its commands to. */
function cliService(): ResidentService {
  return {
    name: 'CLI socket',
    async start({ controller }) {
      const { startCliServer } = await import('../server');
      return startCliServer({ controller });
    },
  };
}

/** The services the flags ask for; the Docker plugins first (bridge and IPAM, then macvlan), so they stop last. */
function services(f: DaemonFlags): ResidentService[] {
  const list: ResidentService[] = [];
  if (f.dockerPlugin) list.push(dockerPluginService(f.dockerSocket), ...SECOND_DRIVERS.map((d) => dockerDriverService(f.dockerSocket, d)));
  if (f.cni) list.push(cniService());
  if (f.netavark) list.push(netavarkService());
  if (f.cliSocket) list.push(cliService());
  return list;
}

/** Registers `daemon`. */
export function registerDaemonCommand(program: Command): void {
  program.command('daemon').description('run the resident part of tsnet (embedded DNS, Docker plugin, CNI fast path) in the foreground')
    .option('--docker-socket <path>', 'Docker plugin socket (the macvlan driver is served beside it, on <name>-macvlan.sock)', DEFAULT_SOCKET)
    .option('--no-docker-plugin', 'do not serve the Docker network and IPAM plugins')
    .option('--no-cni', 'do not serve CNI commands for the tsnet-cni shim on <state-dir>/cni.sock')
    .option('--validate', 'check the daemon config (daemon.json and flags) and exit: 0 when valid, 2 with the errors')
    .option('--config-file <path>', 'daemon config file (default: $TSNET_CONFIG, then /etc/tsnet/daemon.json)')
    .option('--no-netavark', 'do not serve podman\'s netavark calls for tsnet-netavark on <state-dir>/netavark.sock')
    .option('--no-cli-socket', 'do not serve tsnet commands for the thin client on <state-dir>/cli.sock')
    .option('--cluster-store <url>', 'cluster store (overrides daemon.json): etcd://host:port[,host:port…][/prefix]')
    .option('--cluster-advertise <addr>', 'this host\'s address or interface[:port] in the cluster')
    .option('--cluster-store-opt <key=value>', 'kv.cacertfile, kv.certfile, kv.keyfile, discovery.ttl, discovery.heartbeat (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .addOption(new Option('--role <role>', 'run one part only: resolver, services, or all in one process (default: a supervisor running resolver and services as two processes)').choices(['resolver', 'services', 'all']))
    .addOption(new Option('--supervisor <pid>', 'pid of the supervising daemon (set by the supervisor)').hideHelp())
    .action(async (f: DaemonFlags, cmd: Command) => {
      const { defaultStateDir, runDaemon, runDaemonRole, superviseDaemon } = core();
      const root = cmd.parent!.opts<{ stateDir?: string }>();
      // Through the environment, so the supervised children and every controller read the same file.
      if (f.configFile) process.env.TSNET_CONFIG = f.configFile;
      if (f.validate) {
        sayAboutConfig(daemonConfigReport(f));
        out('configuration OK\n');
        return;
      }
      // DNS must keep working when a service cannot start: another daemon (another state directory)
      // may already serve Docker, and the shim runs CNI commands through node without the socket.
      const onServiceError = (msg: string) => process.stderr.write(`tsnet daemon: ${msg}\n`);
      const onLog = onServiceError;
      if (f.role === 'resolver' || f.role === 'services') {
        const part = await runDaemonRole(f.role, { stateDir: root.stateDir, config: daemonConfig(f), services: f.role === 'services' ? services(f) : [], onServiceError, onLog, supervisor: f.supervisor ? Number(f.supervisor) : undefined });
        // The supervisor checked the file before passing SIGHUP on: a child only takes it.
        onReload(f, (next) => part.reload(next));
        await untilSignal();
        await part.close();
        return;
      }
      if (f.role === 'all') {
        const report = daemonConfigReport(f);
        sayAboutConfig(report);
        const daemon = await runDaemon({ stateDir: root.stateDir, config: report.config, services: services(f), onServiceError, onLog });
        onReload(f, (next) => daemon.reload(next));
        await untilSignal();
        await daemon.close();
        return;
      }
      const stateDir = root.stateDir ?? defaultStateDir();
      // Checked here, so a bad flag fails the command rather than every restart of a child.
      sayAboutConfig(daemonConfigReport(f));
      const supervisor = superviseDaemon({ stateDir, childArgv: (role) => childArgv(f, stateDir, role), outputFd: 2 });
      onReload(f, () => supervisor.signal('SIGHUP'));
      await untilSignal();
      await supervisor.close();
    });
}
