/** The model as the embedded resolver reads it (dns/sync's DnsSource), over every store of the controller. */
import * as fs from 'node:fs';
import { hostUpstreams } from '../dns';
import { DNS_DOMAIN_LABEL } from '../dns/constants';
import type { DnsEndpoint, DnsSource } from '../dns/sync';
import type { Endpoint, Sandbox } from '../model';
import { type Core, listNetworks, networkEndpoints, networkStore, stores } from './core';
import { followPrefixes } from './follow';
import { servesDns } from './sandbox-files';

export type { DnsSource } from '../dns/sync';

const HOST_RESOLV_CONF = process.env.TSNET_HOST_RESOLV_CONF ?? '/etc/resolv.conf';
/** Key prefixes whose changes can change names or listeners. */
const WATCHED = ['network/', 'endpoint/', 'sandbox/'];

/** See DnsSource. */
export function dnsSource(core: Core): DnsSource {
  return {
    async snapshot() {
      const networks = (await listNetworks(core)).filter((n) => servesDns(core, n));
      const endpoints: DnsEndpoint[] = [];
      for (const net of networks) {
        for (const ep of await networkEndpoints(networkStore(core, net), net.id)) endpoints.push(toDnsEndpoint(ep));
      }
      const sandboxes = (await core.local.list<Sandbox>('sandbox/')).map(({ value: sb }) => ({
        id: sb.id,
        // A none-mode sandbox that left `none` and joined a network has its own namespace too.
        netns: sb.mode === 'own' || sb.mode === 'none' ? sb.key : undefined,
        upstreams: sb.dns.servers,
      }));
      return { networks: networks.map((n) => ({ id: n.id, name: n.name, internal: n.internal, domain: n.labels?.[DNS_DOMAIN_LABEL] })), endpoints, sandboxes };
    },
    watch(onChange) {
      return followPrefixes(stores(core), WATCHED, onChange);
    },
    upstreams() {
      // Queries are forwarded from the daemon's (the host's) namespace, so a loopback resolver such as
      // systemd-resolved's 127.0.0.53 is reachable and kept, as Docker does.
      if (core.config.dns?.length) return core.config.dns;
      try {
        return hostUpstreams(fs.readFileSync(HOST_RESOLV_CONF, 'utf8'), { loopback: true });
      } catch {
        return [];
      }
    },
  };
}

function toDnsEndpoint(ep: Endpoint): DnsEndpoint {
  return { endpointId: ep.id, networkId: ep.networkId, sandboxId: ep.sandboxId, name: ep.name, aliases: ep.aliases, ipv4: ep.ipv4, ipv6: ep.ipv6 };
}
