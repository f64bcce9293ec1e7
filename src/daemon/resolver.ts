/** Keeps the embedded resolver in step with the store: names per network, one listener per sandbox stack. */
import * as fs from 'node:fs';
import { servesDns } from '../controller/sandbox-files';
import type { Core } from '../controller/core';
import { DnsRecords, DnsServer, hostUpstreams } from '../dns';
import { log } from '../log';
import type { Endpoint, Network, Sandbox } from '../model';

const debug = log('tsnet:daemon:resolver');
const HOST_RESOLV_CONF = process.env.TSNET_HOST_RESOLV_CONF ?? '/etc/resolv.conf';

/** The resolver of one state directory: records, server and the reconciliation between them and the store. */
export class ResolverSync {
  private readonly records: DnsRecords;
  private readonly server: DnsServer;
  private readonly listening = new Map<string, string>();
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly core: Core) {
    this.records = new DnsRecords({ hostUpstreams: this.hostServers() });
    this.server = new DnsServer({ backend: this.records });
  }

  /**
   * Upstreams for names tsnet does not know: the daemon config's dns, else the host's servers. Queries
   * are forwarded from the daemon's (the host's) namespace, so a loopback resolver such as
   * systemd-resolved's 127.0.0.53 is reachable and kept, as Docker does.
   */
  private hostServers(): string[] {
    if (this.core.config.dns?.length) return this.core.config.dns;
    try {
      return hostUpstreams(fs.readFileSync(HOST_RESOLV_CONF, 'utf8'), { loopback: true });
    } catch {
      return [];
    }
  }

  /** Re-reads the store and applies it; calls are serialized so listeners never race. */
  reconcile(): Promise<void> {
    this.running = this.running.then(() => this.apply()).catch((err) => debug(`reconcile failed: ${(err as Error).message}`));
    return this.running;
  }

  private async apply(): Promise<void> {
    const store = this.core.store;
    const nets = store.list<Network>('network/').map((n) => n.value).filter((n) => servesDns(this.core, n));
    const sandboxes = new Map(store.list<Sandbox>('sandbox/').map((s) => [s.value.id, s.value]));
    this.records.clear();
    const wanted = new Map<string, string>();
    for (const net of nets) {
      this.records.setNetwork(net.id, { name: net.name, internal: net.internal });
      for (const { value: ep } of store.list<Endpoint>(`endpoint/${net.id}/`)) {
        this.records.add(net.id, { endpointId: ep.id, networkId: net.id, sandboxId: ep.sandboxId, name: ep.name, aliases: ep.aliases, ipv4: ep.ipv4, ipv6: ep.ipv6 });
        const sb = sandboxes.get(ep.sandboxId);
        // A none-mode sandbox that left `none` and joined a network has its own namespace too.
        if (sb && (sb.mode === 'own' || sb.mode === 'none')) wanted.set(sb.id, sb.key);
      }
    }
    for (const sb of sandboxes.values()) if (sb.dns.servers.length) this.records.setSandboxUpstreams(sb.id, sb.dns.servers);
    for (const [id, key] of this.listening) {
      if (wanted.get(id) === key) continue;
      await this.server.unlisten(id);
      this.listening.delete(id);
    }
    for (const [id, key] of wanted) {
      if (this.listening.has(id)) continue;
      try {
        await this.server.listenInNetns(key, id);
        this.listening.set(id, key);
      } catch (err) {
        // A namespace removed between the store read and now: the next change cleans the record up.
        debug(`listen in ${key} failed: ${(err as Error).message}`);
      }
    }
    debug(`reconciled: ${nets.length} networks, ${this.listening.size} sandboxes served`);
  }

  /** Sandboxes currently served. */
  served(): string[] {
    return [...this.listening.keys()];
  }

  /** Stops every listener. */
  async stop(): Promise<void> {
    await this.running;
    for (const id of this.listening.keys()) await this.server.unlisten(id);
    this.listening.clear();
    await this.server.stop();
  }
}
