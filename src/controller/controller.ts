/** The Controller: the one core every face (CLI, CNI plugin, Docker plugin, an embedding engine) drives. */
import * as path from 'node:path';
import { type DaemonConfig, defaultStateDir, loadDaemonConfig } from '../config';
import { createDrivers } from '../drivers/registry';
import { type BackendName, createFirewall } from '../firewall/firewall';
import { createIpam } from '../ipam/allocator';
import { InvalidArgumentError } from '../errors';
import { runInteractive } from '../kernel/exec';
import { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, NetworkSpec, Sandbox } from '../model';
import { openSqliteStore } from '../store/sqlite';
import { keys, type Store } from '../store/store';
import { type Core, findNetwork, findSandbox, networkEndpoints, sandboxDir, sandboxEndpoints } from './core';
import { connect, type ConnectOptions, disconnect } from './endpoint';
import { engineOps, type EngineOps } from './engine';
import { networkView, sandboxView } from './inspect';
import { createNetwork, deleteNetwork, ensurePredefined, pruneNetworks, restoreNetworks } from './network';
import { createSandbox, deleteSandbox, type SandboxOptions, stackOwner } from './sandbox';
import { servesDns } from './sandbox-files';
import { syncDaemon } from '../daemon/client';
import { ResolverSync } from '../daemon/resolver';

/** How to open a controller; every field has a default. */
export interface ControllerOptions {
  /** State directory (default TSNET_STATE_DIR or /var/lib/tsnet). */
  stateDir?: string;
  /** Daemon config; default: read from TSNET_CONFIG or /etc/tsnet/daemon.json. */
  config?: DaemonConfig;
  /** Skip re-creating lost kernel objects (read-only commands); the predefined networks are still ensured. */
  readOnly?: boolean;
  /**
   * Who serves DNS for sandboxes this controller changes: 'daemon' (default) starts `tsnet daemon` when
   * none runs and syncs it after every change; 'none' when the caller runs startResolver() itself.
   */
  resolver?: 'daemon' | 'none';
  /** Firewall backend; default: the daemon config's firewall-backend, then $TSNET_FIREWALL_BACKEND, then what fits the host. */
  firewallBackend?: BackendName;
}

/** Networks, endpoints and sandboxes of this host. Safe to use from many processes at once. */
export class Controller {
  private constructor(private readonly core: Core, private readonly resolverMode: 'daemon' | 'none') {}

  /** Opens the store, makes sure the predefined networks exist and, unless readOnly, that their devices are up. */
  static async open(opts: ControllerOptions = {}): Promise<Controller> {
    const stateDir = opts.stateDir ?? defaultStateDir();
    const config = opts.config ?? loadDaemonConfig();
    const store: Store = openSqliteStore(stateDir);
    const host = NetlinkHandle.open();
    const firewall = createFirewall({ backend: opts.firewallBackend ?? config['firewall-backend'] });
    const core: Core = { store, ipam: createIpam(), drivers: createDrivers({ host }), host, config, stateDir, firewall };
    const ctl = new Controller(core, opts.resolver ?? 'daemon');
    try {
      await ensurePredefined(core);
      if (!opts.readOnly) await restoreNetworks(core);
    } catch (err) {
      ctl.close();
      throw err;
    }
    return ctl;
  }

  /** The state directory in use. */
  get stateDir(): string {
    return this.core.stateDir;
  }

  /** The store, for faces that watch it (the resolver). */
  get store(): Store {
    return this.core.store;
  }

  /** Creates a network (`tsnet create`). */
  createNetwork(spec: NetworkSpec): Promise<Network> {
    return createNetwork(this.core, spec);
  }

  /** Deletes a network with no endpoints (`tsnet rm`). */
  deleteNetwork(ref: string): Promise<Network> {
    return deleteNetwork(this.core, ref);
  }

  /** Deletes every unused user-defined network (`tsnet prune`). */
  pruneNetworks(): Promise<string[]> {
    return pruneNetworks(this.core);
  }

  /** One network by name, id or id prefix. */
  getNetwork(ref: string): Network {
    return findNetwork(this.core.store, ref);
  }

  /** Every network, by name. */
  listNetworks(): Network[] {
    return this.core.store.list<Network>('network/').map((n) => n.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Endpoints attached to a network. */
  networkEndpoints(ref: string): Endpoint[] {
    return networkEndpoints(this.core.store, findNetwork(this.core.store, ref).id);
  }

  /** `docker network inspect` JSON. */
  inspectNetwork(ref: string): Record<string, unknown> {
    return networkView(this.core, findNetwork(this.core.store, ref));
  }

  /** Creates a sandbox and joins its first network (`tsnet sandbox create`, `tsnet run`). */
  async createSandbox(opts: SandboxOptions): Promise<Sandbox> {
    const sb = await createSandbox(this.core, opts);
    await this.afterDnsChange(sandboxEndpoints(this.core.store, sb.id).map((e) => e.networkId));
    return sb;
  }

  /** Deletes a sandbox and everything it joined (`tsnet sandbox rm`). */
  async deleteSandbox(ref: string): Promise<Sandbox> {
    const nets = sandboxEndpoints(this.core.store, findSandbox(this.core.store, ref).id).map((e) => e.networkId);
    const sb = await deleteSandbox(this.core, ref);
    await this.afterDnsChange(nets);
    return sb;
  }

  /** One sandbox by name, id or id prefix. */
  getSandbox(ref: string): Sandbox {
    return findSandbox(this.core.store, ref);
  }

  /** Every sandbox, by name. */
  listSandboxes(): Sandbox[] {
    return this.core.store.list<Sandbox>('sandbox/').map((s) => s.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A sandbox's endpoints in interface order. */
  sandboxEndpoints(ref: string): Endpoint[] {
    return sandboxEndpoints(this.core.store, findSandbox(this.core.store, ref).id);
  }

  /** Sandbox JSON shaped like `docker inspect`'s NetworkSettings. */
  inspectSandbox(ref: string): Record<string, unknown> {
    return sandboxView(this.core, findSandbox(this.core.store, ref));
  }

  /** Runs argv inside the sandbox (its stack, resolv.conf, hosts and hostname) with inherited stdio; resolves with the exit code. */
  exec(ref: string, argv: string[]): Promise<number> {
    if (!argv.length) throw new InvalidArgumentError('exec: a command is required');
    const t = this.execTarget(ref);
    // A private mount and UTS namespace per command, so the bind mounts and hostname stay its own.
    return runInteractive('unshare', ['--mount', '--uts', '--propagation', 'private', '--', process.execPath, SANDBOX_EXEC, t.key, t.filesDir, t.hostname, '--', ...argv]);
  }

  /** Where a command must run to be "inside" the sandbox: its namespace key and resolver files. */
  execTarget(ref: string): { key: string; filesDir: string; hostname: string } {
    const sb = findSandbox(this.core.store, ref);
    const owner = stackOwner(this.core, sb);
    return { key: owner.key, filesDir: sandboxDir(this.core, owner.id), hostname: sb.hostname };
  }

  /** Connects a sandbox to a network (`tsnet connect`). */
  async connect(netRef: string, sbRef: string, opts: ConnectOptions = {}): Promise<Endpoint> {
    const ep = await connect(this.core, netRef, sbRef, opts);
    await this.afterDnsChange([ep.networkId]);
    return ep;
  }

  /** Disconnects a sandbox from a network (`tsnet disconnect`). */
  async disconnect(netRef: string, sbRef: string, opts: { force?: boolean } = {}): Promise<Endpoint | undefined> {
    const ep = await disconnect(this.core, netRef, sbRef, opts);
    if (ep) await this.afterDnsChange([ep.networkId]);
    return ep;
  }

  /** Runs the embedded resolver in this process, following the store; for the daemon and embedding engines. */
  async startResolver(): Promise<{ reconcile(): Promise<void>; close(): Promise<void> }> {
    const sync = new ResolverSync(this.core);
    await sync.reconcile();
    const stops = ['network/', 'endpoint/', 'sandbox/'].map((prefix) => this.core.store.watch(prefix, () => void sync.reconcile()));
    return {
      reconcile: () => sync.reconcile(),
      close: async () => {
        stops.forEach((stop) => stop());
        await sync.stop();
      },
    };
  }

  /** Brings the daemon's resolver up to date when a change touched a network it serves, so names resolve at once. */
  private async afterDnsChange(networkIds: string[]): Promise<void> {
    if (this.resolverMode === 'none') return;
    const serves = networkIds.some((id) => {
      const net = this.core.store.get<Network>(keys.network(id));
      return !!net && servesDns(this.core, net);
    });
    if (serves) await syncDaemon(this.core.stateDir);
  }

  /** Releases the store and netlink socket. */
  close(): void {
    this.core.host.close();
    this.core.store.close();
  }

  /** Operations for an engine that runs its own IPAM calls and moves interfaces itself (Docker's plugin protocol); engine names what they make. */
  engine(engine: string): EngineOps {
    return engineOps(this.core, engine);
  }
}

/** Path of the sandbox-exec entry point, for faces that run commands in sandboxes. */
export const SANDBOX_EXEC = path.join(__dirname, '..', 'kernel', 'sandbox-exec.js');
