/**
 * The probe of the overlay convergence benchmark (bench/overlay.ts): one long-lived process started
 * inside a sandbox's network namespace (`nsenter --net=<key> node overlay-poller.js`), so that
 * polling spawns nothing — no `ping`, no `dig` per attempt. Every tick (10 ms) it sends one ICMP
 * echo through a raw socket to the address under test and one DNS query for its name to the
 * embedded resolver at 127.0.0.11, exactly what `ping -c1 <ip>` and `dig @127.0.0.11 <name>` from
 * the sandbox would send, and reports the arrival time (CLOCK_MONOTONIC, the clock of
 * process.hrtime in every process of the machine) of the first echo reply and of the first answer
 * holding the address.
 *
 * Protocol: one JSON object per line on stdin, one per line on stdout.
 *   → {"op":"up","id":1,"name":"cv-1","ip":"10.0.9.200","timeoutMs":10000}
 *   ← {"id":1,"armed":true}                           probing has started
 *   ← {"id":1,"dnsNs":"…","pingNs":"…","ticks":57}    both answered (hrtime, ns)
 *   → {"op":"gone","id":2,"name":"cv-1","ip":"10.0.9.200","timeoutMs":10000}
 *   ← {"id":2,"armed":true} then {"id":2,"goneNs":"…","ticks":3}   the name no longer resolves to ip
 *   either may end in {"id":…,"error":"…"}. The process exits when stdin closes.
 *
 * The namespace's ARP retransmit time (net.ipv4.neigh.eth0.retrans_time_ms) is set to the tick:
 * with the kernel's default of 1 s, a probe sent before the remote endpoint is programmed leaves
 * the neighbour entry INCOMPLETE and the next ARP request goes out only a second later, so the
 * probe would measure the ARP timer, not when the address became reachable.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import * as dnsPacket from 'dns-packet';
import { check, libc } from '../src/kernel/libc';

const AF_INET = 2;
const SOCK_RAW = 3;
const IPPROTO_ICMP = 1;
const ICMP_ECHO = 8;
const ICMP_ECHOREPLY = 0;

/** One probing job: up (reachable and resolvable) or gone (no longer resolvable). */
interface Job {
  op: 'up' | 'gone';
  id: number;
  name: string;
  ip: string;
  deadline: bigint;
  dnsNs?: bigint;
  pingNs?: bigint;
  ticks: number;
  /** DNS query ids sent for this job (answers to older jobs' queries are ignored). */
  queries: Set<number>;
}

const now = () => process.hrtime.bigint();
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');

/** The Internet checksum of buf. */
function inetChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** struct sockaddr_in for ip (port 0). */
function sockaddr(ip: string): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  ip.split('.').forEach((octet, i) => b.writeUInt8(Number(octet), 4 + i));
  return b;
}

function main(): void {
  const intervalMs = Number(process.env.POLL_INTERVAL_MS ?? 10);
  fs.writeFileSync('/proc/sys/net/ipv4/neigh/eth0/retrans_time_ms', String(intervalMs));
  const c = libc();
  // A blocking raw socket read on libuv's thread pool: each read is one datagram, so the reply's
  // arrival time is taken when it arrives, not at the next tick.
  const icmp = check(c.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), 'socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)');
  const ident = process.pid & 0xffff;
  let seq = 0;
  let job: Job | undefined;

  const finish = (extra: Record<string, unknown>) => {
    if (!job) return;
    out({ id: job.id, ticks: job.ticks, ...extra });
    job = undefined;
  };
  const settle = () => {
    if (!job) return;
    if (job.op === 'up' && job.dnsNs !== undefined && job.pingNs !== undefined) finish({ dnsNs: job.dnsNs, pingNs: job.pingNs });
  };

  const rx = Buffer.alloc(2048);
  const readIcmp = () => {
    fs.read(icmp, rx, 0, rx.length, null, (err, n) => {
      const at = now();
      if (err) {
        out({ id: -1, error: `icmp read: ${err.message}` });
        process.exit(1);
      }
      const ihl = (rx[0] & 0x0f) * 4;
      const src = `${rx[12]}.${rx[13]}.${rx[14]}.${rx[15]}`;
      if (job?.op === 'up' && job.pingNs === undefined && n >= ihl + 8 && rx[ihl] === ICMP_ECHOREPLY && rx.readUInt16BE(ihl + 4) === ident && src === job.ip) {
        job.pingNs = at;
        settle();
      }
      readIcmp();
    });
  };
  readIcmp();

  const dns = dgram.createSocket('udp4');
  dns.on('message', (msg) => {
    const at = now();
    let res: dnsPacket.Packet;
    try {
      res = dnsPacket.decode(msg);
    } catch {
      return;
    }
    if (!job || res.id === undefined || !job.queries.has(res.id)) return;
    const holds = (res.answers ?? []).some((a) => a.type === 'A' && a.data === job!.ip);
    if (job.op === 'up' && holds && job.dnsNs === undefined) {
      job.dnsNs = at;
      settle();
    } else if (job.op === 'gone' && !holds) {
      finish({ goneNs: at });
    }
  });

  let qid = 0;
  const tick = () => {
    if (!job) return;
    if (now() > job.deadline) {
      finish({ error: `${job.op} ${job.name} (${job.ip}): no answer within the timeout`, dnsNs: job.dnsNs, pingNs: job.pingNs });
      return;
    }
    job.ticks++;
    if (job.op === 'up' && job.pingNs === undefined) {
      const pkt = Buffer.alloc(16);
      pkt.writeUInt8(ICMP_ECHO, 0);
      pkt.writeUInt16BE(ident, 4);
      pkt.writeUInt16BE((seq = (seq + 1) & 0xffff), 6);
      pkt.writeBigUInt64BE(now(), 8);
      pkt.writeUInt16BE(inetChecksum(pkt), 2);
      // Fails (EHOSTUNREACH) while the neighbour is unresolved: the next tick tries again.
      c.sendto(icmp, pkt, pkt.length, 0, sockaddr(job.ip), 16);
    }
    if (job.op === 'gone' || job.dnsNs === undefined) {
      qid = (qid + 1) & 0xffff;
      job.queries.add(qid);
      dns.send(dnsPacket.encode({ type: 'query', id: qid, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: job.name }] }), 53, '127.0.0.11');
    }
  };
  setInterval(tick, intervalMs);

  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const cmd = JSON.parse(line) as { op: 'up' | 'gone'; id: number; name: string; ip: string; timeoutMs: number };
    if (job) finish({ error: 'superseded by a new job' });
    job = { op: cmd.op, id: cmd.id, name: cmd.name, ip: cmd.ip, deadline: now() + BigInt(cmd.timeoutMs) * 1_000_000n, ticks: 0, queries: new Set() };
    out({ id: cmd.id, armed: true });
    tick();
  });
  lines.on('close', () => process.exit(0));
}

main();
