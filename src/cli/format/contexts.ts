/**
 * The list rows of `tsnet ls` and `tsnet sandbox ls` with Docker's field names: `docker network ls`'s
 * networkContext and `docker ps`'s ContainerContext (the fields a sandbox has), each built from the
 * inspect view so that Docker's own inspect JSON formats the same way (the golden tests rely on it).
 */
import { goTimeString, joinLabels, truncateId, type ListFormat, type RowContext } from './docker';

/** The inspect fields a network row reads (docker network inspect's JSON). */
export interface NetworkView {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Labels: Record<string, string> | null;
  Created: string;
}

/** `docker network ls`'s defaults and headers (docker/cli network/formatter.go). */
export const NETWORK_LIST: ListFormat = {
  defaultTable: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' },
};

/** One `ls` row; trunc shortens the ID to 12 characters as Docker does without --no-trunc. */
export function networkRow(n: NetworkView, trunc: boolean): RowContext {
  return {
    type: 'network.networkContext',
    fields: {
      ID: () => (trunc ? truncateId(n.Id) : n.Id),
      Name: () => n.Name,
      Driver: () => n.Driver,
      Scope: () => n.Scope,
      IPv6: () => String(n.EnableIPv6),
      Internal: () => String(n.Internal),
      Labels: () => joinLabels(n.Labels),
      CreatedAt: () => goTimeString(n.Created),
    },
    methods: { Label: (name) => (typeof name === 'string' ? n.Labels?.[name] ?? '' : '') },
  };
}

/** The inspect fields a sandbox row reads (tsnet sandbox inspect's JSON, shaped like docker inspect). */
export interface SandboxView {
  Id: string;
  Name: string;
  Created: string;
  Config?: { ExposedPorts?: Record<string, unknown> };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null>; Networks?: Record<string, unknown> };
}

/** `tsnet sandbox ls --format`'s defaults and headers: docker ps's, for the fields a sandbox has. */
export const SANDBOX_LIST: ListFormat = {
  defaultTable: 'table {{.ID}}\t{{.Names}}\t{{.Networks}}\t{{.Ports}}',
  headers: { ID: 'CONTAINER ID', Names: 'NAMES', Networks: 'NETWORKS', Ports: 'PORTS', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Labels: 'LABELS' },
};

/** One port as docker's container list has it. */
interface ApiPort {
  ip: string;
  privatePort: number;
  publicPort: number;
  type: string;
}

/** docker ps's Ports column (docker 20.10's formatter.DisplayablePorts): consecutive ports grouped into ranges. */
export function displayablePorts(ports: ApiPort[]): string {
  const sorted = [...ports].sort((a, b) => a.privatePort - b.privatePort || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0) || a.publicPort - b.publicPort || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number) => {
    const [a, b] = key.split('/');
    const [ip, type] = b === undefined ? ['', a] : [a, b];
    let group = first === last ? String(first) : `${first}-${last}`;
    if (ip) group = `${ip}:${group}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    let key = p.type;
    if (p.ip) {
      if (p.publicPort !== p.privatePort) {
        // Docker 20.10 joins without brackets (":::8080->80/tcp"); later releases bracket IPv6.
        hostMappings.push(`${p.ip}:${p.publicPort}->${p.privatePort}/${p.type}`);
        continue;
      }
      key = `${p.ip}/${p.type}`;
    }
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.privatePort, last: p.privatePort });
    else if (p.privatePort === g.last + 1) g.last = p.privatePort;
    else {
      result.push(formGroup(key, g.first, g.last));
      // Go's map keeps the key's first insertion order while the group restarts.
      groups.set(key, { first: p.privatePort, last: p.privatePort });
    }
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(', ');
}

/** The ports of a sandbox view in the container list's shape (exposed but unpublished ports have no IP). */
function apiPorts(v: SandboxView): ApiPort[] {
  const out: ApiPort[] = [];
  const bound = v.NetworkSettings?.Ports ?? {};
  const keys = new Set([...Object.keys(v.Config?.ExposedPorts ?? {}), ...Object.keys(bound)]);
  for (const key of keys) {
    const [port, type = 'tcp'] = key.split('/');
    const bindings = bound[key] ?? [];
    if (!bindings.length) out.push({ ip: '', privatePort: Number(port), publicPort: 0, type });
    for (const b of bindings) out.push({ ip: b.HostIp, privatePort: Number(port), publicPort: Number(b.HostPort), type });
  }
  return out;
}

/** go-units HumanDuration, as docker ps's CREATED column ("5 minutes ago"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`;
}

/** One `sandbox ls` row; now is the clock RunningFor counts from. */
export function sandboxRow(v: SandboxView, trunc: boolean, now: number): RowContext {
  return {
    type: 'formatter.ContainerContext',
    fields: {
      ID: () => (trunc ? truncateId(v.Id) : v.Id),
      Names: () => v.Name.replace(/^\//, ''),
      Networks: () => Object.keys(v.NetworkSettings?.Networks ?? {}).sort().join(','),
      Ports: () => displayablePorts(apiPorts(v)),
      // docker ps has Created in whole seconds.
      CreatedAt: () => goTimeString(v.Created.replace(/\.\d+/, '')),
      RunningFor: () => `${humanDuration(now - Date.parse(v.Created))} ago`,
      Labels: () => '',
    },
    methods: { Label: () => '' },
  };
}
