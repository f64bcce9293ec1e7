/** Keeps the embedded resolver in step with the model: names per network, one listener per sandbox stack. */
import * as fs from 'node:fs';
import { log } from '../log';
import { type DnsEntry, DnsRecords } from './records';
import { DnsServer } from './server';

const debug = log('tsnet:dns:sync');

/** A network the resolver serves. */
export interface DnsNetwork {
  id: string;
  name: string;
  internal: boolean;
  /** A domain the network's members also answer under (podman's dns.podman). */
  domain?: string;
}

/** One name holder on a served network: the records' own entry. */
export type DnsEndpoint = DnsEntry;

/** A sandbox: where to listen (its namespace, when it has its own stack) and its own upstreams (--dns). */
export interface DnsSandbox {
  id: string;
  /** Network namespace path, for sandboxes with their own stack. */
  netns?: string;
  upstreams: string[];
}

/** Where the resolver reads the model from: the controller implements it (Controller.dnsSource()). */
export interface DnsSource {
  /** The served networks, their endpoints and the sandboxes, read now. */
  snapshot(): Promise<{ networks: DnsNetwork[]; endpoints: DnsEndpoint[]; sandboxes: DnsSandbox[] }>;
  /** Calls onChange after any change that may matter (made by any process); returns a stop function. */
  watch(onChange: () => void): () => Promise<void>;
  /** Upstream servers for names the model does not hold (daemon config dns, else the host's). */
  upstreams(): string[];
}

/** The resolver of one model: records, server and the reconciliation between them and the source. */
export class ResolverSync {
  private readonly records: DnsRecords;
  private readonly server: DnsServer;
  private readonly listening = new Map<string, string>();
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly source: DnsSource) {
    this.records = new DnsRecords({ hostUpstreams: source.upstreams() });
    this.server = new DnsServer({ backend: this.records });
  }

  /**
   * Re-reads the source and applies it; calls are serialized so listeners never race. Rejects when
   * a sandbox that still exists could not be served, so a caller waiting for the sync learns it.
   */
  reconcile(): Promise<void> {
    // Callers that arrive while a pass waits to start share it: it reads the store after all of them
    // committed, so N concurrent syncs (parallel CNI ADDs) cost two passes, not N.
    if (this.queued) return this.queued;
    const run = this.running.catch(() => undefined).then(() => {
      this.queued = undefined;
      return this.apply();
    });
    this.queued = run;
    this.running = run;
    return run;
  }

  /** The pass that has not started yet, which a new caller can share. */
  private queued?: Promise<void>;

  private async apply(): Promise<void> {
    const { networks, endpoints, sandboxes } = await this.source.snapshot();
    const byId = new Map(sandboxes.map((s) => [s.id, s]));
    this.records.clear();
    const wanted = new Map<string, string>();
    for (const net of networks) this.records.setNetwork(net.id, { name: net.name, internal: net.internal, domain: net.domain });
    for (const ep of endpoints) {
      this.records.add(ep.networkId, ep);
      const netns = byId.get(ep.sandboxId)?.netns;
      if (netns) wanted.set(ep.sandboxId, netns);
    }
    for (const sb of sandboxes) if (sb.upstreams.length) this.records.setSandboxUpstreams(sb.id, sb.upstreams);
    for (const [id, key] of this.listening) {
      if (wanted.get(id) === key) continue;
      await this.server.unlisten(id);
      this.listening.delete(id);
    }
    const failed: string[] = [];
    for (const [id, key] of wanted) {
      if (this.listening.has(id)) continue;
      try {
        await this.server.listenInNetns(key, id);
        this.listening.set(id, key);
      } catch (err) {
        // A namespace removed between the read and now is no failure: the next change drops its record.
        if (fs.existsSync(key)) failed.push(`${key}: ${(err as Error).message}`);
        else debug(`listen in ${key} skipped: the namespace is gone`);
      }
    }
    debug(`reconciled: ${networks.length} networks, ${this.listening.size} sandboxes served`);
    if (failed.length) throw new Error(`embedded DNS could not listen in ${failed.join('; ')}`);
  }

  /** Sandboxes currently served. */
  served(): string[] {
    return [...this.listening.keys()];
  }

  /** Stops every listener. */
  async stop(): Promise<void> {
    await this.running.catch(() => undefined);
    for (const id of this.listening.keys()) await this.server.unlisten(id);
    this.listening.clear();
    await this.server.stop();
  }
}

/** Runs a resolver over source until close(): reconciled now and after every change. */
export async function startResolver(source: DnsSource): Promise<{ reconcile(): Promise<void>; close(): Promise<void> }> {
  const sync = new ResolverSync(source);
  await sync.reconcile().catch((err) => debug(`first reconcile: ${(err as Error).message}`));
  const stop = source.watch(() => void sync.reconcile().catch((err) => debug(`reconcile: ${(err as Error).message}`)));
  return {
    reconcile: () => sync.reconcile(),
    close: async () => {
      await stop();
      await sync.stop();
    },
  };
}
