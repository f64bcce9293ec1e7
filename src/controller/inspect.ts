/** Docker-shaped views: `docker network inspect` and the NetworkSettings part of `docker inspect`. */
import { splitCidr } from '../kernel/addr';
import type { Endpoint, Network, Sandbox } from '../model';
import { gatewayOf } from '../drivers/routes';
import { type Core, networkById, networkEndpoints, networkStore, sandboxEndpoints } from './core';

/** `docker network inspect` JSON for one network. */
export async function networkView(core: Core, net: Network): Promise<Record<string, unknown>> {
  const containers: Record<string, unknown> = {};
  const peers = new Map<string, string>();
  const eps = await networkEndpoints(networkStore(core, net), net.id);
  // Docker's overlay inspect lists the hosts with endpoints on the network; only this host's endpoints are Containers.
  for (const ep of eps) if (ep.location) peers.set(ep.location.host, ep.location.vtep);
  const local = core.cluster?.settings.host;
  for (const ep of eps.filter((e) => !e.location || e.location.host === local)) {
    containers[ep.sandboxId] = { Name: ep.name, EndpointID: ep.id, MacAddress: ep.mac ?? '', IPv4Address: ep.ipv4 ?? '', IPv6Address: ep.ipv6 ?? '' };
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: net.scope,
    Driver: net.driver,
    EnableIPv6: net.ipv6,
    IPAM: {
      Driver: 'default',
      Options: net.ipamOptions ?? {},
      Config: (net.configOnly ? (net.ipamConfig ?? []).map((c) => ({ subnet: c.subnet ?? '', ...c })) : net.ipam).map((p) => ({
        Subnet: p.subnet,
        ...(p.ipRange ? { IPRange: p.ipRange } : {}),
        ...(p.gateway ? { Gateway: p.gateway } : {}),
        ...(p.auxAddresses && Object.keys(p.auxAddresses).length ? { AuxiliaryAddresses: p.auxAddresses } : {}),
      })),
    },
    Internal: net.internal,
    Attachable: !!net.attachable,
    Ingress: false,
    ConfigFrom: { Network: net.configFrom ?? '' },
    ConfigOnly: !!net.configOnly,
    Containers: containers,
    Options: net.options,
    Labels: net.labels,
    ...(net.info.firewall && core.firewall.backend === 'none' ? { Firewall: 'none: the daemon config sets "iptables": false, so tsnet programs no NAT, isolation or port rules' } : {}),
    ...(net.scope === 'global' ? { Peers: [...peers].sort().map(([Name, IP]) => ({ Name, IP })) } : {}),
  };
}

function endpointView(net: Network, ep: Endpoint): Record<string, unknown> {
  const gw = (fam: 4 | 6) => gatewayOf(net, fam) ?? '';
  return {
    IPAMConfig: ep.linkLocalIps ? { LinkLocalIPs: ep.linkLocalIps } : null,
    Aliases: ep.aliases,
    NetworkID: net.id,
    EndpointID: ep.id,
    InterfaceName: ep.ifname,
    Gateway: ep.ipv4 ? gw(4) : '',
    IPAddress: ep.ipv4 ? splitCidr(ep.ipv4).ip : '',
    IPPrefixLen: ep.ipv4 ? splitCidr(ep.ipv4).prefix : 0,
    IPv6Gateway: ep.ipv6 ? gw(6) : '',
    GlobalIPv6Address: ep.ipv6 ? splitCidr(ep.ipv6).ip : '',
    GlobalIPv6PrefixLen: ep.ipv6 ? splitCidr(ep.ipv6).prefix : 0,
    MacAddress: ep.mac ?? '',
    DriverOpts: ep.driverOpts ?? null,
  };
}

/** The --network the sandbox was made with, as Docker prints it (records of older releases: from the mode). */
function networkMode(sb: Sandbox): string {
  if (sb.mode === 'container') return `container:${sb.sharedWith}`;
  if (sb.networkMode !== undefined) return sb.networkMode;
  return sb.mode === 'own' ? 'bridge' : sb.mode;
}

/** A sandbox with its networks, shaped like `docker inspect`'s NetworkSettings. */
export async function sandboxView(core: Core, sb: Sandbox): Promise<Record<string, unknown>> {
  const networks: Record<string, unknown> = {};
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const ep of await sandboxEndpoints(core, sb.id)) {
    const net = await networkById(core, ep.networkId);
    if (net) networks[net.name] = endpointView(net, ep);
    for (const p of ep.ports) (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return {
    Id: sb.id,
    Name: sb.name,
    Created: sb.created,
    Config: { Hostname: sb.hostname, Domainname: sb.domainname ?? '', ExposedPorts: Object.fromEntries(sb.exposed.map((e) => [`${e.port}/${e.protocol}`, {}])) },
    HostConfig: {
      NetworkMode: networkMode(sb), Dns: sb.dns.servers, DnsSearch: sb.dns.search, DnsOptions: sb.dns.options, ExtraHosts: sb.extraHosts,
      Links: sb.links?.map((l) => `/${l.name}:/${sb.name}/${l.alias}`) ?? null, Sysctls: sb.sysctls ?? null,
    },
    NetworkSettings: { SandboxID: sb.id, SandboxKey: sb.key, Ports: ports, Networks: networks },
  };
}
