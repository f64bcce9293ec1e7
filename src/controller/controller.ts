/** The Controller: the one core every face (CLI, CNI plugin, Docker plugin, an embedding engine) drives. */
import * as path from 'node:path';
import { type DaemonConfig, defaultStateDir, loadDaemonConfig, type TsnetKey } from '../config';
import { createDrivers } from '../drivers/registry';
import { type BackendName, createFirewall } from '../firewall/firewall';
import { createIpam } from '../ipam/allocator';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { runInteractive } from '../kernel/exec';
import { NetlinkHandle } from '../kernel/netlink';
import type { Endpoint, Network, NetworkSpec, Sandbox } from '../model';
import { openSqliteStore } from '../store/sqlite';
import { keys, type Store } from '../store/store';
import { agreeDataPathPort, attachHostLease, ClusterMembership, clusterSettings, openConfiguredClusterStore, rememberDaemonCluster, withDaemonCluster } from './cluster';
import { DEFAULT_DATA_PATH_PORT } from '../drivers/overlay';
import { guardUnderlay } from './underlay';
import { peerSource } from './peer-source';
import { reapAfterReboot, reapLostSandboxes } from './reboot';
import { republishEndpoints } from './republish';
import { firewallPolicy, reloadConfig } from './reload';
import { reshapeDefaultBridge } from './reshape';
import { type ChangeNotifier, type Core, driverOf, findNetwork, findSandbox, listNetworks, lookupNetwork, networkById, networkEndpoints, networkStore, sandboxDir, sandboxEndpoints } from './core';
import { compareNames } from '../names';
import { connect, type ConnectOptions, disconnect, reapStaleEndpoints } from './endpoint';
import { engineOps, type EngineOps } from './engine';
import { networkView, sandboxView } from './inspect';
import { createNetwork, deleteNetwork, ensurePredefined, publishLocalSummary, pruneNetworks, reapplyFirewall, restoreIfLost, restoreNetworks, withNetworkLock } from './network';
import { FaceRecords } from './records';
import { dnsSource, type DnsSource } from './dns-source';
import { createSandbox, deleteSandbox, type SandboxOptions, stackOwner } from './sandbox';
import { servesDns } from './sandbox-files';

/** How to open a controller; every field has a default. */
export interface ControllerOptions {
  /** State directory (default TSNET_STATE_DIR or /var/lib/tsnet). */
  stateDir?: string;
  /** Daemon config; default: read from TSNET_CONFIG or /etc/tsnet/daemon.json. */
  config?: DaemonConfig;
  /** Skip re-creating lost kernel objects (read-only commands); the predefined networks are still ensured. */
  readOnly?: boolean;
  /**
   * Told after every change to names on a DNS-serving network, and waited for (the CLI and CNI
   * inject the daemon's resolver sync, see `daemonNotifier`). Default: nobody — an engine that
   * embeds the library runs `startResolver()` itself.
   */
  notifier?: ChangeNotifier;
  /** Firewall backend; default: the daemon config's firewall-backend, then $TSNET_FIREWALL_BACKEND, then what fits the host. */
  firewallBackend?: BackendName;
  /**
   * The host's daemon, for a one-shot process on a cluster member: operations on global-scope
   * networks go through it (it holds the cluster-store session and the host's lease), and this
   * process never opens the cluster store itself. Local networks are handled here as always.
   */
  remote?: RemoteCalls;
}

/** Calls on the daemon's controller (src/daemon/rpc.ts implements them over its socket). */
export interface RemoteCalls {
  call<T>(method: string, args: unknown[]): Promise<T>;
}

/** What a face learns about one attachment, read back from the kernel (the CNI result, CHECK). */
export interface AttachmentState {
  /** Host-side devices of the endpoint: the network's device, then the endpoint's own host interface. */
  hostInterfaces: { name: string; mac?: string; mtu: number; master?: string; up: boolean }[];
  /** The sandbox's interface, or undefined when it is missing. */
  sandboxInterface?: { name: string; mac?: string; mtu: number; up: boolean; addresses: string[] };
  /** Routes of the sandbox's main table through that interface (dst undefined: default route). */
  routes: { dst?: string; gateway?: string; family: 4 | 6 }[];
}

/** The reconciling a state-changing open does (see Controller.reconcile). */
async function reconcile(core: Core): Promise<void> {
  await reapAfterReboot(core);
  await restoreNetworks(core);
  await reapStaleEndpoints(core);
  await reapplyFirewall(core);
}

const NO_NOTIFIER: ChangeNotifier = { networksChanged: async () => undefined };

/** Networks, endpoints and sandboxes of this host (and of its cluster). Safe to use from many processes at once. */
export class Controller {
  private constructor(private readonly core: Core, private readonly remote?: RemoteCalls, private readonly firewallBackend?: BackendName) {}

  /** Whether ref names a network of this host's store (else, with a daemon to go through, it may be global). */
  private async isLocal(ref: string): Promise<boolean> {
    return !!(await lookupNetwork(this.core, this.core.local, ref));
  }

  /** Whether a call on network ref goes to the daemon: a one-shot process on a cluster member, a network not in this host's store. */
  private async viaDaemon(ref: string): Promise<boolean> {
    return !!this.remote && !(await this.isLocal(ref));
  }

  /** Whether a sandbox has an endpoint on a network that is not this host's (so its operations go to the daemon). */
  private async sandboxViaDaemon(ref: string): Promise<boolean> {
    if (!this.remote) return false;
    const sb = await findSandbox(this.core.local, ref);
    for (const e of await this.core.local.list<string>(`sandbox-ep/${sb.id}/`)) if (!(await this.core.local.get(keys.network(e.value)))) return true;
    return false;
  }

  /** Opens the stores, makes sure the predefined networks exist and, unless readOnly, that their devices are up. */
  static async open(opts: ControllerOptions = {}): Promise<Controller> {
    const stateDir = opts.stateDir ?? defaultStateDir();
    const config = withDaemonCluster(opts.config ?? loadDaemonConfig(), stateDir);
    const local: Store = openSqliteStore(stateDir);
    // Opened on first use: read-only commands usually ask the kernel nothing.
    const host = NetlinkHandle.openLazy();
    let global: Store | undefined;
    // With the daemon to go through, this process needs no cluster-store session of its own.
    const remote = config['cluster-store'] ? opts.remote : undefined;
    try {
      if (!remote) global = await openConfiguredClusterStore(config);
    } catch (err) {
      host.close();
      await local.close();
      throw err;
    }
    const firewall = createFirewall({ backend: opts.firewallBackend ?? config['firewall-backend'], policy: firewallPolicy(config) });
    const settings = global ? clusterSettings(config) : undefined;
    const core: Core = {
      // The pools are read on every request: a daemon reloads them on SIGHUP.
      local, global, ipam: createIpam({ localPools: () => core.config['default-address-pools'] }), drivers: createDrivers({ host, get config() { return core.config; }, cluster: settings }), host, config, stateDir, firewall, notifier: opts.notifier ?? NO_NOTIFIER,
      cluster: global && settings ? { settings, lease: () => attachHostLease(global, stateDir) } : undefined,
    };
    if (remote) core.remoteGlobals = () => remoteGlobalNetworks(remote);
    const ctl = new Controller(core, remote, opts.firewallBackend);
    try {
      await ensurePredefined(core);
      // Read-only commands never reconcile: a lost sandbox is dropped, and lost devices re-made, by the next change.
      if (!opts.readOnly) await reconcile(core);
    } catch (err) {
      await ctl.close();
      throw err;
    }
    return ctl;
  }

  /**
   * What a state-changing command's open does, for a controller that stays open (the daemon running
   * commands for the thin client): after a reboot drop lost sandboxes, re-create lost devices, reap
   * half-made endpoints, re-apply lost firewall rules.
   */
  reconcile(): Promise<void> {
    return reconcile(this.core);
  }

  /** The state directory in use. */
  get stateDir(): string {
    return this.core.stateDir;
  }

  /** The daemon config in use (what a daemon reloaded included). */
  get config(): DaemonConfig {
    return this.core.config;
  }

  /**
   * Takes a new daemon config as a running daemon does on SIGHUP (see reload.ts): dns*,
   * default-address-pools and the firewall keys apply from now on, the others at a restart.
   */
  reloadConfig(next: DaemonConfig, opts: { firewall?: boolean } = {}): Promise<{ reloaded: TsnetKey[]; needRestart: TsnetKey[] }> {
    return reloadConfig(this.core, next, { backend: this.firewallBackend, ...opts });
  }

  /** Re-shapes the default bridge to the config if it changed and no sandbox is on it (a daemon does at start); the line to log, if any. */
  reshapeDefaultBridge(): Promise<string | undefined> {
    return reshapeDefaultBridge(this.core);
  }

  /** Creates a network (`tsnet create`). */
  async createNetwork(spec: NetworkSpec): Promise<Network> {
    const scope = this.core.drivers.get(spec.driver ?? 'bridge')?.capabilities.scope;
    if (this.remote && scope === 'global') return this.remote.call('createNetwork', [spec]);
    return createNetwork(this.core, spec);
  }

  /** Deletes a network with no endpoints (`tsnet rm`). */
  async deleteNetwork(ref: string): Promise<Network> {
    if (await this.viaDaemon(ref)) return this.remote!.call('deleteNetwork', [ref]);
    return deleteNetwork(this.core, ref);
  }

  /** Deletes every unused user-defined network that select allows (`tsnet prune [--filter]`). */
  pruneNetworks(select?: (net: Network) => boolean): Promise<string[]> {
    return pruneNetworks(this.core, select);
  }

  /** One network by name, id or id prefix. */
  async getNetwork(ref: string): Promise<Network> {
    if (await this.viaDaemon(ref)) return this.remote!.call('getNetwork', [ref]);
    return findNetwork(this.core, ref);
  }

  /** Every network, by name. */
  async listNetworks(): Promise<Network[]> {
    const global = this.remote ? await remoteGlobalNetworks(this.remote) : [];
    return [...(await listNetworks(this.core)), ...global].sort((a, b) => compareNames(a.name, b.name));
  }

  /** Endpoints attached to a network. */
  async networkEndpoints(ref: string): Promise<Endpoint[]> {
    if (await this.viaDaemon(ref)) return this.remote!.call('networkEndpoints', [ref]);
    const net = await findNetwork(this.core, ref);
    return networkEndpoints(networkStore(this.core, net), net.id);
  }

  /** `docker network inspect` JSON. */
  async inspectNetwork(ref: string): Promise<Record<string, unknown>> {
    if (await this.viaDaemon(ref)) return this.remote!.call('inspectNetwork', [ref]);
    return networkView(this.core, await findNetwork(this.core, ref));
  }

  /**
   * Re-creates the network's kernel objects and rules if the kernel lost them (after a reboot);
   * returns whether they are there now. Cheap when they are: one link lookup; the repair itself is
   * serialised between processes, so two never rebuild one network at once.
   */
  async restoreNetwork(ref: string): Promise<boolean> {
    return restoreIfLost(this.core, await findNetwork(this.core, ref));
  }

  /**
   * The network called spec.name, created from spec when there is none (CNI's network on first use).
   * Creation is serialised between processes, so a caller never sees a record whose devices are
   * still being made; `created` tells whether this call made it.
   */
  async ensureNetwork(spec: NetworkSpec): Promise<{ network: Network; created: boolean }> {
    const existing = await findNetwork(this.core, spec.name).catch((err) => { if (err instanceof NotFoundError) return undefined; throw err; });
    if (existing && !existing.transition) return { network: existing, created: false };
    return withNetworkLock(this.core, async () => {
      const again = await findNetwork(this.core, spec.name).catch((err) => { if (err instanceof NotFoundError) return undefined; throw err; });
      if (again) return { network: again, created: false };
      return { network: await createNetwork(this.core, spec), created: true };
    });
  }

  /** Whether the network's kernel objects are there and up, without changing anything. */
  async networkIsLive(ref: string): Promise<boolean> {
    const net = await findNetwork(this.core, ref);
    const driver = driverOf(this.core, net);
    return !driver.isLive || driver.isLive(net);
  }

  /** Creates a sandbox and joins its first network (`tsnet sandbox create`, `tsnet run`). */
  async createSandbox(opts: SandboxOptions): Promise<Sandbox> {
    if (opts.network === undefined && this.core.config.bridge === 'none') throw new InvalidArgumentError('no default network: the daemon config sets "bridge": "none"; pass --network <name>, or remove "bridge" from daemon.json');
    const first = opts.network === undefined ? 'bridge' : opts.network;
    if (first !== null && !first.startsWith('container:') && (await this.viaDaemon(first))) return this.remote!.call('createSandbox', [opts]);
    const sb = await createSandbox(this.core, opts);
    await this.afterDnsChange((await sandboxEndpoints(this.core, sb.id)).map((e) => e.networkId));
    return sb;
  }

  /** Deletes a sandbox and everything it joined (`tsnet sandbox rm`). */
  async deleteSandbox(ref: string): Promise<Sandbox> {
    if (await this.sandboxViaDaemon(ref)) return this.remote!.call('deleteSandbox', [ref]);
    const nets = (await sandboxEndpoints(this.core, (await findSandbox(this.core.local, ref)).id)).map((e) => e.networkId);
    const sb = await deleteSandbox(this.core, ref);
    await this.afterDnsChange(nets);
    return sb;
  }

  /** One sandbox by name, id or id prefix. */
  getSandbox(ref: string): Promise<Sandbox> {
    return findSandbox(this.core.local, ref);
  }

  /** Every sandbox, by name. */
  async listSandboxes(): Promise<Sandbox[]> {
    return (await this.core.local.list<Sandbox>('sandbox/')).map((s) => s.value).sort((a, b) => compareNames(a.name, b.name));
  }

  /** A sandbox's endpoints in interface order. */
  async sandboxEndpoints(ref: string): Promise<Endpoint[]> {
    if (await this.sandboxViaDaemon(ref)) return this.remote!.call('sandboxEndpoints', [ref]);
    return sandboxEndpoints(this.core, (await findSandbox(this.core.local, ref)).id);
  }

  /** Sandbox JSON shaped like `docker inspect`'s NetworkSettings. */
  async inspectSandbox(ref: string): Promise<Record<string, unknown>> {
    if (await this.sandboxViaDaemon(ref)) return this.remote!.call('inspectSandbox', [ref]);
    return sandboxView(this.core, await findSandbox(this.core.local, ref));
  }

  /** Runs argv inside the sandbox (its stack, resolv.conf, hosts and hostname) with inherited stdio; resolves with the exit code. */
  async exec(ref: string, argv: string[]): Promise<number> {
    if (!argv.length) throw new InvalidArgumentError('exec: a command is required');
    const t = await this.execTarget(ref);
    // A private mount and UTS namespace per command, so the bind mounts and hostname stay its own.
    return runInteractive('unshare', ['--mount', '--uts', '--propagation', 'private', '--', process.execPath, SANDBOX_EXEC, t.key, t.filesDir, t.hostname, ...(t.domainname ? [t.domainname] : []), '--', ...argv]);
  }

  /** Where a command must run to be "inside" the sandbox: its namespace key and resolver files. */
  async execTarget(ref: string): Promise<{ key: string; filesDir: string; hostname: string; domainname?: string }> {
    const sb = await findSandbox(this.core.local, ref);
    const owner = await stackOwner(this.core, sb);
    return { key: owner.key, filesDir: sandboxDir(this.core, owner.id), hostname: sb.hostname, domainname: sb.domainname };
  }

  /** Connects a sandbox to a network (`tsnet connect`). */
  async connect(netRef: string, sbRef: string, opts: ConnectOptions = {}): Promise<Endpoint> {
    if (await this.viaDaemon(netRef)) return this.remote!.call('connect', [netRef, sbRef, opts]);
    const ep = await connect(this.core, netRef, sbRef, opts);
    await this.afterDnsChange([ep.networkId]);
    return ep;
  }

  /** Disconnects a sandbox from a network (`tsnet disconnect`). */
  async disconnect(netRef: string, sbRef: string, opts: { force?: boolean } = {}): Promise<Endpoint | undefined> {
    if (await this.viaDaemon(netRef)) return (await this.remote!.call<Endpoint | null>('disconnect', [netRef, sbRef, opts])) ?? undefined;
    const ep = await disconnect(this.core, netRef, sbRef, opts);
    if (ep) await this.afterDnsChange([ep.networkId]);
    return ep;
  }

  /** What the kernel holds for a sandbox's endpoint on a network (host devices, the sandbox interface, its routes). */
  async attachmentState(netRef: string, sbRef: string): Promise<AttachmentState> {
    const { attachmentState } = await import('./attachment-state');
    return attachmentState(this.core, await findNetwork(this.core, netRef), await findSandbox(this.core.local, sbRef));
  }

  /** Records a face keeps beside the model (the CNI plugin's container → sandbox map), under its own namespace of keys. */
  records<T>(namespace: string): FaceRecords<T> {
    return new FaceRecords<T>(this.core.local, namespace);
  }

  /** What the embedded resolver needs to read and follow, for the DNS service (dns/sync) of the daemon or an engine. */
  dnsSource(): DnsSource {
    return dnsSource(this.core);
  }

  /** Tells the notifier (the daemon's resolver) about networks whose names changed, when it serves any of them. */
  private async afterDnsChange(networkIds: string[]): Promise<void> {
    const served: string[] = [];
    for (const id of networkIds) {
      const net = await networkById(this.core, id);
      if (net && servesDns(this.core, net)) served.push(id);
    }
    if (served.length) await this.core.notifier.networksChanged(served);
  }

  /**
   * Joins the cluster (the daemon does, once per host): keeps the host's lease alive and binds this
   * controller's records to it; after an expiry, re-publishes this host's endpoints. Undefined
   * without a cluster store.
   */
  async joinCluster(): Promise<ClusterMembership | undefined> {
    const core = this.core;
    if (!core.global || !core.cluster) return undefined;
    const settings = core.cluster.settings;
    await agreeDataPathPort(core.global, core.config['data-path-port'] ?? DEFAULT_DATA_PATH_PORT);
    const membership = await ClusterMembership.join(core.global, core.stateDir, settings, async (lease) => {
      await publishLocalSummary(core, settings.host, lease);
      await republishEndpoints(core, lease);
    });
    core.cluster = { settings, lease: async () => membership.lease };
    await publishLocalSummary(core, settings.host, membership.lease);
    rememberDaemonCluster(core.config, core.stateDir);
    return membership;
  }

  /**
   * What a host in a cluster keeps running (the daemon does): its membership, and every driver's
   * agent over the cluster's view (the overlay's FDB programmer). A no-op without a cluster store.
   */
  async startClusterServices(): Promise<{ settle(): Promise<void>; close(leave?: boolean): Promise<void> }> {
    const membership = await this.joinCluster();
    const source = peerSource(this.core);
    const agents = source ? [...this.core.drivers.values()].flatMap((d) => (d.startAgent ? [d.startAgent(source)] : [])) : [];
    // Other members check new global networks against this host's local ones: keep the summary current.
    const core = this.core;
    const summary = membership && core.local.watch('network/', {
      onEvents: () => void publishLocalSummary(core, membership.settings.host, membership.lease).catch(() => undefined),
    });
    const guard = membership && source ? guardUnderlay(core, source) : undefined;
    return {
      settle: async () => { await Promise.all(agents.map((a) => a.settle())); },
      async close(leave = false) {
        await guard?.close(leave);
        await summary?.close();
        for (const a of agents) await a.close();
        await membership?.close(leave);
      },
    };
  }

  /**
   * `tsnet system gc`: what the daemon and every state-changing command do on their own, on demand —
   * drop sandboxes whose namespace is gone (after a reboot), re-create lost devices, re-apply lost
   * firewall rules. Returns what it fixed.
   */
  async gc(): Promise<{ sandboxesRemoved: string[]; endpointsRemoved: string[]; firewallReapplied: string[] }> {
    const sandboxesRemoved = [...(await reapAfterReboot(this.core)), ...(await reapLostSandboxes(this.core))];
    await restoreNetworks(this.core);
    const endpointsRemoved = await reapStaleEndpoints(this.core);
    return { sandboxesRemoved, endpointsRemoved, firewallReapplied: await reapplyFirewall(this.core) };
  }

  /**
   * Keeps the firewall in step while the daemon runs: rules flushed from outside are back within
   * intervalMs (2 s by default, inside the 5 s the issue allows).
   */
  watchFirewall(intervalMs = 2000): { close(): void } {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void reapplyFirewall(this.core).catch(() => undefined).finally(() => { busy = false; });
    }, intervalMs);
    timer.unref();
    return { close: () => clearInterval(timer) };
  }

  /** Releases the stores and netlink socket. */
  async close(): Promise<void> {
    this.core.host.close();
    await this.core.local.close();
    await this.core.global?.close();
  }

  /** Operations for an engine that runs its own IPAM calls and moves interfaces itself (Docker's plugin protocol); engine names what they make. */
  engine(engine: string): EngineOps {
    return engineOps(this.core, engine);
  }
}

/**
 * The cluster's global networks as the host's daemon sees them. A daemon that is down (or a cluster
 * store it cannot reach) leaves this host's networks usable: a warning, and none listed.
 */
async function remoteGlobalNetworks(remote: RemoteCalls): Promise<Network[]> {
  try {
    return (await remote.call<Network[]>('listNetworks', [])).filter((n) => n.scope === 'global');
  } catch (err) {
    process.stderr.write(`tsnet: warning: ${(err as Error).message}; global networks are not shown\n`);
    return [];
  }
}

/** Path of the sandbox-exec entry point, for faces that run commands in sandboxes. */
export const SANDBOX_EXEC = path.join(__dirname, '..', 'kernel', 'sandbox-exec.js');
