/** Address and CIDR helpers shared by the kernel layer, IPAM and drivers (pure, no I/O). */
import { InvalidArgumentError } from '../errors';

/** A dotted-quad IPv4 literal, no leading zeros (as node:net's isIPv4). */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** Whether s is an IPv6 literal as node:net's isIPv6 reads one (embedded IPv4 tail, %zone). */
function isIpv6(s: string): boolean {
  const zone = s.indexOf('%');
  if (zone >= 0) {
    if (!/^[0-9a-zA-Z\-.:]+$/.test(s.slice(zone + 1))) return false;
    s = s.slice(0, zone);
  }
  if (s.includes('.')) {
    const tail = s.lastIndexOf(':');
    if (tail < 0 || !IPV4.test(s.slice(tail + 1))) return false;
    s = `${s.slice(0, tail + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (!groups.flat().every((g) => HEXTET.test(g))) return false;
  const n = groups.flat().length;
  return halves.length === 2 ? n <= 7 : n === 8;
}

/** Address family of an IP literal: 4, 6, or 0 when it is not one (node:net's isIP, without loading node:net). */
export function family(ip: string): 0 | 4 | 6 {
  if (IPV4.test(ip)) return 4;
  return isIpv6(ip) ? 6 : 0;
}

/** Splits "addr/len" into its parts; throws on anything else. */
export function splitCidr(cidr: string): { ip: string; prefix: number; family: 4 | 6 } {
  const slash = cidr.indexOf('/');
  const ip = slash < 0 ? cidr : cidr.slice(0, slash);
  const fam = family(ip);
  const bits = fam === 4 ? 32 : 128;
  const prefix = slash < 0 ? bits : Number(cidr.slice(slash + 1));
  if (!fam || !/^\d+$/.test(slash < 0 ? String(bits) : cidr.slice(slash + 1)) || prefix > bits) throw new InvalidArgumentError(`invalid CIDR "${cidr}"`);
  return { ip, prefix, family: fam };
}

/** The IP as a bigint (v4 or v6). */
export function ipToBigInt(ip: string): bigint {
  return BigInt('0x' + ipToBuffer(ip).toString('hex'));
}

/** A bigint back to an IP literal of the family. */
export function bigIntToIp(n: bigint, fam: 4 | 6): string {
  const hex = n.toString(16).padStart(fam === 4 ? 8 : 32, '0');
  return bufferToIp(Buffer.from(hex, 'hex'));
}

/** The address as 4 or 16 network-order bytes. */
export function ipToBuffer(ip: string): Buffer {
  const fam = family(ip);
  if (fam === 4) return Buffer.from(ip.split('.').map(Number));
  if (fam !== 6) throw new InvalidArgumentError(`invalid IP address "${ip}"`);
  let [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':') : []);
  let h = parse(head);
  let t = parse(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const last = (t.length ? t : h);
  if (last.length && last[last.length - 1].includes('.')) {
    const v4 = ipToBuffer(last.pop()!);
    last.push(v4.readUInt16BE(0).toString(16), v4.readUInt16BE(2).toString(16));
  }
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  const groups = [...h, ...fill, ...t];
  const buf = Buffer.alloc(16);
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), i * 2));
  return buf;
}

/** 4 or 16 bytes to the canonical text form (RFC 5952 for v6). */
export function bufferToIp(buf: Buffer | Uint8Array): string {
  if (buf.length === 4) return Array.from(buf).join('.');
  const b = Buffer.from(buf);
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // Longest run of zero groups (length ≥ 2) becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

/** Canonical network address and prefix of a CIDR: 172.25.3.4/16 → 172.25.0.0/16. */
export function networkOf(cidr: string): { base: bigint; prefix: number; family: 4 | 6; size: bigint } {
  const { ip, prefix, family: fam } = splitCidr(cidr);
  const bits = fam === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - prefix);
  const base = ipToBigInt(ip) & ~(size - 1n) & ((1n << BigInt(bits)) - 1n);
  return { base, prefix, family: fam, size };
}

/** Canonical string of a subnet: "172.25.0.0/16". */
export function canonicalSubnet(cidr: string): string {
  const n = networkOf(cidr);
  return `${bigIntToIp(n.base, n.family)}/${n.prefix}`;
}

/** Whether ip lies inside cidr. */
export function contains(cidr: string, ip: string): boolean {
  const n = networkOf(cidr);
  if (family(ip) !== n.family) return false;
  const v = ipToBigInt(ip);
  return v >= n.base && v < n.base + n.size;
}

/** Whether two subnets share any address. */
export function overlaps(a: string, b: string): boolean {
  const x = networkOf(a), y = networkOf(b);
  if (x.family !== y.family) return false;
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

/** Docker's MAC for an IPv4 address: 02:42 followed by the four address bytes. */
export function macFromIpv4(ip: string): string {
  return ['02', '42', ...Array.from(ipToBuffer(ip)).map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** "aa:bb:…" to 6 bytes. */
export function macToBuffer(mac: string): Buffer {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new InvalidArgumentError(`invalid MAC address "${mac}"`);
  // A multicast MAC (low bit of the first byte) cannot be an interface address.
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new InvalidArgumentError(`invalid MAC address "${mac}": multicast`);
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** 6 bytes to "aa:bb:…". */
export function bufferToMac(buf: Buffer | Uint8Array): string {
  return Array.from(buf).map((b) => b.toString(16).padStart(2, '0')).join(':');
}
