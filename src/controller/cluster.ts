/**
 * This host in its cluster (daemon.json's cluster-store, cluster-advertise, cluster-store-opts, as
 * Docker named them): the cluster store is opened only where one is configured; the daemon holds
 * the host's lease and keeps it alive, everything the host owns in the store (its host record, its
 * endpoints, their addresses) is bound to it, so a host that dies vanishes with its lease.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DaemonConfig } from '../config';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors';
import { family } from '../kernel/addr';
import { log } from '../log';
import type { Lease, Store } from '../store/store';

const debug = log('tsnet:controller:cluster');

/** File in the state directory holding the daemon's lease id, so a restarted daemon keeps it and one-shot commands bind to it. */
export const LEASE_FILE = 'cluster.lease';
/** Default lease time-to-live (Docker's discovery.ttl) and its lower bound. */
const DEFAULT_TTL = 10;
const MIN_TTL = 2;

/** The cluster settings of this host, validated. */
export interface ClusterSettings {
  /** This host's name in the cluster (its hostname). */
  host: string;
  /** This host's underlay address: the VXLAN tunnel endpoint others send to. */
  advertise: string;
  /** Lease time-to-live in seconds. */
  ttl: number;
  /** Seconds between renewals. */
  heartbeat: number;
}

/** Key of a host's membership record in the cluster store. */
export const hostKey = (host: string) => `cluster/host/${host}`;

/** A host's membership record. */
export interface HostRecord {
  name: string;
  address: string;
  joined: string;
}

/** Opens the configured cluster store, or undefined when none is configured (etcd3 is then never loaded). */
export async function openConfiguredClusterStore(config: DaemonConfig): Promise<Store | undefined> {
  const url = config['cluster-store'];
  if (!url) return undefined;
  // Loaded here, not at the top: a host without a cluster store never pays for the etcd client.
  const { openClusterStore } = await import('../store/etcd');
  return openClusterStore(url, config['cluster-store-opts'] ?? {});
}

/** The address an interface name stands for (cluster-advertise may name one, as Docker allows). */
function interfaceAddress(name: string): string | undefined {
  return os.networkInterfaces()[name]?.find((a) => a.family === 'IPv4')?.address;
}

/** This host's cluster settings from the daemon config, or undefined without a cluster store. */
export function clusterSettings(config: DaemonConfig): ClusterSettings | undefined {
  if (!config['cluster-store']) return undefined;
  const given = config['cluster-advertise'];
  if (!given) throw new InvalidArgumentError('cluster-store is set but cluster-advertise is not: name this host\'s address or interface');
  const hostPart = given.replace(/:\d+$/, '');
  const advertise = family(hostPart) ? hostPart : interfaceAddress(hostPart);
  if (!advertise) throw new InvalidArgumentError(`cluster-advertise "${given}": no such address or interface with an IPv4 address`);
  const opts = config['cluster-store-opts'] ?? {};
  const ttl = Number(opts['discovery.ttl'] ?? DEFAULT_TTL);
  if (!Number.isInteger(ttl) || ttl < MIN_TTL) throw new InvalidArgumentError(`cluster-store-opts discovery.ttl=${opts['discovery.ttl']}: must be a whole number of seconds, at least ${MIN_TTL}`);
  const heartbeat = Number(opts['discovery.heartbeat'] ?? Math.max(1, Math.floor(ttl / 3)));
  if (!(heartbeat > 0 && heartbeat < ttl)) throw new InvalidArgumentError(`cluster-store-opts discovery.heartbeat=${opts['discovery.heartbeat']}: must be shorter than discovery.ttl (${ttl})`);
  return { host: os.hostname(), advertise, ttl, heartbeat };
}

/** The lease of the host's daemon, for a one-shot process that writes records the host owns. */
export async function attachHostLease(store: Store, stateDir: string): Promise<Lease> {
  let id: string;
  try {
    id = fs.readFileSync(path.join(stateDir, LEASE_FILE), 'utf8').trim();
  } catch {
    throw new UnsupportedError('this host has not joined its cluster: start `tsnet daemon` (it holds the host\'s lease in the cluster store)');
  }
  try {
    return await store.attachLease(id);
  } catch (err) {
    if (err instanceof NotFoundError) throw new UnsupportedError('this host\'s cluster lease expired: `tsnet daemon` is not running or cannot reach the cluster store', { cause: err });
    throw err;
  }
}

/**
 * The daemon's membership: re-attaches the lease kept in the state directory when it is still alive
 * (a restart within the TTL keeps everything the host owns), else grants a new one; registers the
 * host under it and renews it every heartbeat. onNewLease runs after a lease had to be granted anew
 * (the old one expired): the host re-publishes what it owns.
 */
export class ClusterMembership {
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly store: Store, private readonly stateDir: string, readonly settings: ClusterSettings, private current: Lease, private readonly onNewLease: (lease: Lease) => Promise<void>) {}

  /** Joins: lease (kept or new), host record, renewal loop. */
  static async join(store: Store, stateDir: string, settings: ClusterSettings, onNewLease: (lease: Lease) => Promise<void>): Promise<ClusterMembership> {
    let lease: Lease | undefined;
    let fresh = false;
    try {
      lease = await attachHostLease(store, stateDir);
      debug(`kept lease ${lease.id}`);
    } catch (err) {
      if (!(err instanceof UnsupportedError)) throw err;
    }
    if (!lease) {
      lease = await store.grantLease(settings.ttl);
      fresh = true;
    }
    const m = new ClusterMembership(store, stateDir, settings, lease, onNewLease);
    await m.register();
    if (fresh) await onNewLease(lease);
    m.schedule();
    return m;
  }

  /** The lease records of this host are bound to. */
  get lease(): Lease {
    return this.current;
  }

  private async register(): Promise<void> {
    fs.writeFileSync(path.join(this.stateDir, LEASE_FILE), this.current.id);
    const rec: HostRecord = { name: this.settings.host, address: this.settings.advertise, joined: new Date().toISOString() };
    await this.store.txn(async (t) => t.put(hostKey(this.settings.host), rec, { lease: this.current }));
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renew().finally(() => this.schedule()), this.settings.heartbeat * 1000);
    this.timer.unref();
  }

  /** Renews; after an expiry (a partition longer than the TTL) grants a new lease and re-publishes. */
  private async renew(): Promise<void> {
    try {
      await this.current.keepAliveOnce();
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        // The store is unreachable: keep trying every heartbeat; peers drop us after the TTL.
        debug(`renew lease ${this.current.id}: ${(err as Error).message}`);
        return;
      }
      try {
        this.current = await this.store.grantLease(this.settings.ttl);
        await this.register();
        debug(`lease expired, re-joined with ${this.current.id}`);
        await this.onNewLease(this.current);
      } catch (e) {
        debug(`re-join: ${(e as Error).message}`);
      }
    }
  }

  /** Stops renewing. With leave, revokes the lease: the host and all it owns leave the cluster now. */
  async close(leave = false): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (leave) {
      await this.current.revoke().catch(() => undefined);
      fs.rmSync(path.join(this.stateDir, LEASE_FILE), { force: true });
      fs.rmSync(path.join(this.stateDir, CLUSTER_FILE), { force: true });
    }
  }
}

/** Key of the cluster's VXLAN data-path port, stored once for the whole cluster. */
const DATA_PATH_PORT_KEY = 'cluster/config/data-path-port';

/** Records the data-path port for the cluster on first join; a host configured with another port is refused, naming both. */
export async function agreeDataPathPort(store: Store, port: number): Promise<void> {
  const agreed = await store.txn(async (t) => {
    const have = await t.get<number>(DATA_PATH_PORT_KEY);
    if (have === undefined) t.put(DATA_PATH_PORT_KEY, port);
    return have ?? port;
  });
  if (agreed !== port) throw new InvalidArgumentError(`data-path-port ${port}: the cluster uses ${agreed}; set data-path-port to ${agreed} in daemon.json to join it`);
}

/** File in the state directory with the cluster settings the daemon joined with (its flags included). */
const CLUSTER_FILE = 'cluster.json';

/** Records the cluster the daemon joined, so one-shot commands of this state directory see the same cluster. */
export function rememberDaemonCluster(config: DaemonConfig, stateDir: string): void {
  const keep = { 'cluster-store': config['cluster-store'], 'cluster-advertise': config['cluster-advertise'], 'cluster-store-opts': config['cluster-store-opts'] };
  fs.writeFileSync(path.join(stateDir, CLUSTER_FILE), JSON.stringify(keep));
}

/**
 * A config without a cluster store takes the cluster the host's daemon joined (set by its
 * --cluster-store flags rather than daemon.json), as Docker's CLI sees what its daemon was started with.
 */
export function withDaemonCluster(config: DaemonConfig, stateDir: string): DaemonConfig {
  if (config['cluster-store']) return config;
  try {
    return { ...config, ...(JSON.parse(fs.readFileSync(path.join(stateDir, CLUSTER_FILE), 'utf8')) as DaemonConfig) };
  } catch {
    return config;
  }
}
