/**
 * Published ports: Docker's `-p`/`-P` parsing, host port choice (libnetwork's portallocator without
 * its singleton: the caller says what is taken), and probes of the host for busy ports and addresses.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { ConflictError, ExhaustedError, InternalError, InvalidArgumentError, UnsupportedError } from '../errors';
import { family } from '../kernel/addr';
import { NetlinkHandle } from '../kernel/netlink';
import type { PortBinding, PortRequest, Protocol } from '../model';
import { DEFAULT_EPHEMERAL_RANGE, EPHEMERAL_RANGE_FILE } from './constants';
import { canonicalIp } from './rules';

const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** A port or an inclusive range of ports. */
interface Span {
  start: number;
  end: number;
}

function parseSpan(spec: string, what: string, text: string): Span {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  const bad = (why: string) => new InvalidArgumentError(`port specification "${spec}": ${why}`);
  if (!m) throw bad(`invalid ${what} "${text}"`);
  if (start < 1 || end > 65535 || start > 65535) throw bad(`${what} "${text}" is not in 1-65535`);
  if (end < start) throw bad(`${what} range "${text}" ends before it starts`);
  return { start, end };
}

/** Splits "ip:hostPort:containerPort" as Docker's splitParts does: the last two colons separate ports. */
function splitParts(spec: string, rest: string): { ip: string; host: string; container: string } {
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw new InvalidArgumentError(`port specification "${spec}": unbalanced "[" in host address`);
    const tail = rest.slice(close + 2).split(':');
    if (tail.length !== 2) throw new InvalidArgumentError(`port specification "${spec}": expected [ip]:hostPort:containerPort`);
    return { ip: rest.slice(1, close), host: tail[0], container: tail[1] };
  }
  const parts = rest.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', host: '', container: parts[0] };
  if (n === 2) return { ip: '', host: parts[0], container: parts[1] };
  return { ip: parts.slice(0, n - 2).join(':'), host: parts[n - 2], container: parts[n - 1] };
}

/**
 * Parses one Docker `-p` value: `80`, `8080:80`, `127.0.0.1::80`, `127.0.0.1:8080:80`,
 * `[::1]:8080:80`, with an optional `/tcp|/udp|/sctp`, and ranges (`8000-8010:80-90` of equal
 * length, or a host range for one container port, meaning "any free port of the range").
 */
export function parsePublish(spec: string, defaultHostIp = ''): PortRequest[] {
  const slash = spec.lastIndexOf('/');
  const protocol = (slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase()) as Protocol;
  if (!PROTOCOLS.includes(protocol)) throw new InvalidArgumentError(`port specification "${spec}": unknown protocol "${spec.slice(slash + 1)}"`);
  const { ip, host, container } = splitParts(spec, slash < 0 ? spec : spec.slice(0, slash));
  if (ip && !family(ip)) throw new InvalidArgumentError(`port specification "${spec}": invalid host address "${ip}"`);
  const hostIp = ip ? canonicalIp(ip) : defaultHostIp;
  const c = parseSpan(spec, 'container port', container);
  const count = c.end - c.start + 1;
  if (host === '') {
    return Array.from({ length: count }, (_, i) => ({ protocol, containerPort: c.start + i, hostIp, hostPort: 0, hostPortEnd: 0 }));
  }
  const h = parseSpan(spec, 'host port', host);
  const hostCount = h.end - h.start + 1;
  if (count === 1) return [{ protocol, containerPort: c.start, hostIp, hostPort: h.start, hostPortEnd: h.end }];
  if (hostCount !== count) {
    throw new InvalidArgumentError(`port specification "${spec}": host range ${host} and container range ${container} differ in length`);
  }
  return Array.from({ length: count }, (_, i) => ({ protocol, containerPort: c.start + i, hostIp, hostPort: h.start + i, hostPortEnd: h.start + i }));
}

/** Docker's `-P`: every exposed port on a random host port. */
export function publishAll(exposed: { protocol: Protocol; port: number }[], defaultHostIp = ''): PortRequest[] {
  return exposed.map((e) => ({ protocol: e.protocol, containerPort: e.port, hostIp: defaultHostIp, hostPort: 0, hostPortEnd: 0 }));
}

/** Whether two host addresses collide: '' collides with all, 0.0.0.0 / :: with every address of their family. */
export function hostIpsOverlap(a: string, b: string): boolean {
  if (a === '' || b === '' || a === b) return true;
  const fa = family(a), fb = family(b);
  if (fa !== fb) return false;
  const any = fa === 4 ? '0.0.0.0' : '::';
  return a === any || b === any || canonicalIp(a) === canonicalIp(b);
}

/** The kernel's ephemeral port range (random host ports come from it), or its default. */
export function ephemeralRange(file = EPHEMERAL_RANGE_FILE): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (lo >= 1 && hi <= 65535 && lo <= hi) return [lo, hi];
  } catch {
    // Not Linux or no /proc: the kernel default is what Docker assumes too.
  }
  return [...DEFAULT_EPHEMERAL_RANGE];
}

/** Says whether proto hostIp:port is already used (by the store, another endpoint, a host process …). */
export type IsTaken = (protocol: Protocol, hostIp: string, port: number) => boolean;

const label = (ip: string, ports: string, proto: Protocol) => `${family(ip) === 6 ? `[${ip}]` : ip || '0.0.0.0'}:${ports}/${proto}`;

/**
 * Picks the host port of every request: the given one (ConflictError when taken), the first free
 * one of a host range, or a random free one of the ephemeral range for hostPort 0. Ports chosen
 * earlier in the same call count as taken.
 */
export function chooseHostPorts(requests: PortRequest[], isTaken: IsTaken, opts: { range?: [number, number]; random?: () => number } = {}): PortBinding[] {
  const chosen: PortBinding[] = [];
  const taken = (proto: Protocol, ip: string, port: number) =>
    isTaken(proto, ip, port) || chosen.some((b) => b.protocol === proto && b.hostPort === port && hostIpsOverlap(b.hostIp, ip));
  for (const req of requests) {
    const pick = (port: number) => chosen.push({ protocol: req.protocol, containerPort: req.containerPort, hostIp: req.hostIp, hostPort: port });
    if (req.hostPort === 0) {
      const [lo, hi] = opts.range ?? ephemeralRange();
      const size = hi - lo + 1;
      // A random start then a linear scan: random like Docker, yet sure to find the last free port.
      const start = Math.floor((opts.random ?? Math.random)() * size);
      const free = Array.from({ length: size }, (_, i) => lo + ((start + i) % size)).find((p) => !taken(req.protocol, req.hostIp, p));
      if (free === undefined) throw new ExhaustedError(`no free host port for ${label(req.hostIp, `${lo}-${hi}`, req.protocol)}: every port of the ephemeral range is allocated`);
      pick(free);
      continue;
    }
    const end = Math.max(req.hostPortEnd, req.hostPort);
    const free = Array.from({ length: end - req.hostPort + 1 }, (_, i) => req.hostPort + i).find((p) => !taken(req.protocol, req.hostIp, p));
    const ports = end > req.hostPort ? `${req.hostPort}-${end}` : String(req.hostPort);
    if (free === undefined) throw new ConflictError(`bind for ${label(req.hostIp, ports, req.protocol)} failed: port is already allocated`);
    pick(free);
  }
  return chosen;
}

/** Tries to bind ip:port, resolving true when something else holds it. */
function bindProbe(protocol: 'tcp' | 'udp', ip: string, port: number): Promise<boolean> {
  const v6 = family(ip) === 6;
  return new Promise((resolve, reject) => {
    const settle = (err?: NodeJS.ErrnoException) => {
      if (!err) return resolve(false);
      if (err.code === 'EADDRINUSE') return resolve(true);
      if (err.code === 'EADDRNOTAVAIL') return reject(new InvalidArgumentError(`host address ${ip}: not an address of this host`));
      reject(new InternalError(`probe ${protocol} ${ip}:${port}: ${err.message}`, { cause: err }));
    };
    if (protocol === 'tcp') {
      const srv = net.createServer();
      srv.once('error', settle);
      srv.listen({ host: ip, port, exclusive: true, ipv6Only: v6 }, () => srv.close(() => settle()));
    } else {
      const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
      sock.once('error', (err) => { sock.close(); settle(err); });
      sock.bind({ address: ip, port, exclusive: true }, () => sock.close(() => settle()));
    }
  });
}

/** Whether an SCTP endpoint listens on port: read from /proc/net/sctp/eps (node has no SCTP sockets). */
function sctpInUse(port: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync('/proc/net/sctp/eps', 'utf8');
  } catch {
    return false; // No SCTP in this kernel: nothing can hold the port.
  }
  // Columns: ENDPT SOCK STY SST HBKT LPORT …
  return text.split('\n').slice(1).some((l) => Number(l.trim().split(/\s+/)[5]) === port);
}

/** Whether a host process already binds proto hostIp:port ('' checks 0.0.0.0 and ::). */
export async function hostPortInUse(protocol: Protocol, hostIp: string, port: number): Promise<boolean> {
  if (protocol === 'sctp') return sctpInUse(port);
  if (hostIp !== '') return bindProbe(protocol, hostIp, port);
  if (await bindProbe(protocol, '0.0.0.0', port)) return true;
  // A host without IPv6 cannot have it bound there.
  return bindProbe(protocol, '::', port).catch(() => false);
}

/**
 * Throws InvalidArgumentError unless ip is '', 0.0.0.0, :: or an address of the host, and
 * UnsupportedError for ::1 (only a userland proxy could serve it; tsnet publishes with DNAT alone).
 */
export async function validateHostIp(ip: string): Promise<void> {
  if (ip === '' || ip === '0.0.0.0' || ip === '::') return;
  if (!family(ip)) throw new InvalidArgumentError(`host address "${ip}": not an IP address`);
  if (canonicalIp(ip) === '::1') throw new UnsupportedError(`host address ::1: publishing on IPv6 loopback needs a userland proxy`);
  const h = NetlinkHandle.open();
  try {
    const mine = (await h.listAddrs()).map((a) => canonicalIp(a.cidr));
    if (!mine.includes(canonicalIp(ip))) throw new InvalidArgumentError(`host address ${ip}: not an address of this host`);
  } finally {
    h.close();
  }
}
