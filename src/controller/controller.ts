/** The Controller: the one core every face (CLI, CNI plugin, Docker plugin, an embedding engine) drives. */
import * as path from 'node:path';
import { type DaemonConfig, defaultStateDir, loadDaemonConfig } from '../config';
import { createDrivers } from '../drivers/registry';
import { type BackendName, createFirewall } from '../firewall/firewall';
import { createIpam } from '../ipam/allocator';
import { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, NetworkSpec, Sandbox } from '../model';
import { openSqliteStore } from '../store/sqlite';
import type { Store } from '../store/store';
import { type Core, findNetwork, findSandbox, networkEndpoints, sandboxDir, sandboxEndpoints } from './core';
import { connect, type ConnectOptions, disconnect } from './endpoint';
import { networkView, sandboxView } from './inspect';
import { createNetwork, deleteNetwork, ensurePredefined, pruneNetworks, restoreNetworks } from './network';
import { createSandbox, deleteSandbox, type SandboxOptions, stackOwner } from './sandbox';

/** How to open a controller; every field has a default. */
export interface ControllerOptions {
  /** State directory (default TSNET_STATE_DIR or /var/lib/tsnet). */
  stateDir?: string;
  /** Daemon config; default: read from TSNET_CONFIG or /etc/tsnet/daemon.json. */
  config?: DaemonConfig;
  /** Skip re-creating lost kernel objects (read-only commands); the predefined networks are still ensured. */
  readOnly?: boolean;
  /** Firewall backend; default: the daemon config's firewall-backend, then $TSNET_FIREWALL_BACKEND, then what fits the host. */
  firewallBackend?: BackendName;
}

/** Networks, endpoints and sandboxes of this host. Safe to use from many processes at once. */
export class Controller {
  private constructor(private readonly core: Core) {}

  /** Opens the store, makes sure the predefined networks exist and, unless readOnly, that their devices are up. */
  static async open(opts: ControllerOptions = {}): Promise<Controller> {
    const stateDir = opts.stateDir ?? defaultStateDir();
    const config = opts.config ?? loadDaemonConfig();
    const store: Store = openSqliteStore(stateDir);
    const host = NetlinkHandle.open();
    const firewall = createFirewall({ backend: opts.firewallBackend ?? config['firewall-backend'] });
    const core: Core = { store, ipam: createIpam(), drivers: createDrivers({ host }), host, config, stateDir, firewall };
    const ctl = new Controller(core);
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
  createSandbox(opts: SandboxOptions): Promise<Sandbox> {
    return createSandbox(this.core, opts);
  }

  /** Deletes a sandbox and everything it joined (`tsnet sandbox rm`). */
  deleteSandbox(ref: string): Promise<Sandbox> {
    return deleteSandbox(this.core, ref);
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

  /** Where a command must run to be "inside" the sandbox: its namespace key and resolver files. */
  execTarget(ref: string): { key: string; filesDir: string; hostname: string } {
    const sb = findSandbox(this.core.store, ref);
    const owner = stackOwner(this.core, sb);
    return { key: owner.key, filesDir: sandboxDir(this.core, owner.id), hostname: sb.hostname };
  }

  /** Connects a sandbox to a network (`tsnet connect`). */
  connect(netRef: string, sbRef: string, opts: ConnectOptions = {}): Promise<Endpoint> {
    return connect(this.core, netRef, sbRef, opts);
  }

  /** Disconnects a sandbox from a network (`tsnet disconnect`). */
  disconnect(netRef: string, sbRef: string, opts: { force?: boolean } = {}): Promise<Endpoint | undefined> {
    return disconnect(this.core, netRef, sbRef, opts);
  }

  /** Releases the store and netlink socket. */
  close(): void {
    this.core.host.close();
    this.core.store.close();
  }
}

/** Path of the sandbox-exec entry point, for faces that run commands in sandboxes. */
export const SANDBOX_EXEC = path.join(__dirname, '..', 'kernel', 'sandbox-exec.js');
