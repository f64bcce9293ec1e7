/** Test doubles for the DNS tests: a tiny client, and a fake upstream server that we fully control. */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';

let nextId = 1;

/** Encodes a one-question query; extra fields (flags, additionals) pass through to dns-packet. */
export function query(name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  nextId = (nextId % 65535) + 1;
  return dnsPacket.encode({ type: 'query', id: nextId, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], ...extra });
}

/** Sends msg over UDP to host:port and resolves with the first datagram back, or undefined after timeoutMs. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 1000, host = '127.0.0.1'): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (resp?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(resp);
    };
    const timer = setTimeout(() => done(), timeoutMs);
    sock.on('message', (resp) => done(resp));
    sock.on('error', () => done());
    sock.send(msg, port, host);
  });
}

/** Sends raw bytes over TCP and collects the length-prefixed answers until `count` arrived, the peer closed, or timeoutMs. */
export function tcpExchange(port: number, raw: Buffer, opts: { count?: number; timeoutMs?: number } = {}): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, opts.timeoutMs ?? 1000);
    sock.on('error', done);
    sock.on('close', done);
    sock.on('connect', () => sock.write(raw));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length >= (opts.count ?? 1)) done();
    });
  });
}

/** Prefixes msg with its two-byte length (DNS over TCP framing). */
export function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** A decoded answer, failing the test if it does not decode. */
export function decode(resp: Buffer | undefined): dnsPacket.Packet {
  if (!resp) throw new Error('no answer');
  return dnsPacket.decode(resp);
}

/** Addresses in the answer section, in order. */
export function answerData(resp: Buffer | undefined): string[] {
  return (decode(resp).answers ?? []).map((a) => String((a as { data: unknown }).data));
}

/** Response code name of an answer ("NOERROR", "NXDOMAIN"…). */
export function rcodeOf(resp: Buffer | undefined): string {
  return (decode(resp) as { rcode?: string }).rcode ?? '';
}

/** What the fake upstream answers: a name → records table; names not in it get NXDOMAIN. */
export interface FakeUpstreamOptions {
  /** name → A records. */
  records: Record<string, string[]>;
  /** Names answered with TC set (and no records) over UDP, fully over TCP. */
  truncateOverUdp?: string[];
  /** Answer with this rcode number instead (e.g. 2, SERVFAIL), for every name. */
  rcode?: number;
}

/** A dns-packet UDP+TCP server on 127.0.0.1 with counters, standing in for an upstream resolver. */
export class FakeUpstream {
  udpQueries = 0;
  tcpQueries = 0;
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  port = 0;

  constructor(private readonly opts: FakeUpstreamOptions) {}

  /** Binds UDP and TCP on the same free port (retrying: other test runs share this machine's ports). */
  async start(): Promise<this> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket('udp4');
      udp.on('message', (msg, rinfo) => {
        this.udpQueries++;
        udp.send(this.answer(msg, false), rinfo.port, rinfo.address);
      });
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
      const tcp = net.createServer((conn) => this.serveTcp(conn));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(udp.address().port, '127.0.0.1', resolve);
        });
      } catch (err) {
        udp.close();
        if (attempt >= 8) throw err;
        continue;
      }
      [this.udp, this.tcp, this.port] = [udp, tcp, udp.address().port];
      return this;
    }
  }

  private serveTcp(conn: net.Socket): void {
    let buf = Buffer.alloc(0);
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        this.tcpQueries++;
        conn.end(frame(this.answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), true)));
      }
    });
  }

  /** "127.0.0.1:port", as upstreams are given. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r()));
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
  }

  private answer(msg: Buffer, tcp: boolean): Buffer {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0];
    const name = question.name.toLowerCase();
    const ips = this.opts.records[name];
    const truncate = !tcp && this.opts.truncateOverUdp?.includes(name);
    // dns-packet takes the rcode in the low bits of flags.
    const rcode = this.opts.rcode ?? (ips ? 0 : 3);
    const flags = dnsPacket.RECURSION_AVAILABLE | (truncate ? dnsPacket.TRUNCATED_RESPONSE : 0) | rcode;
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags,
      questions: q.questions,
      answers: truncate || !ips ? [] : ips.map((data) => ({ type: 'A' as const, name: question.name, ttl: 30, data })),
    });
  }
}
