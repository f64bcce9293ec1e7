import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { Forwarder, isAnswerTo, parseUpstream } from '../../../src/dns/forward';
import { DnsRecords } from '../../../src/dns/records';
import { DnsServer } from '../../../src/dns/server';
import { answerData, decode, FakeUpstream, frame, query, rcodeOf, tcpExchange, udpExchange } from './helpers';

const CLIENT = 'aaaaaaaaaaaa0001';
const BIG = Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`);

/** A UDP socket that reads and never answers: an upstream lost in a black hole. */
async function blackhole(): Promise<{ address: string; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', () => {});
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${sock.address().port}`, close: () => sock.close() };
}

/** A port nothing listens on (bound, read, closed). */
async function closedPort(): Promise<string> {
  const b = await blackhole();
  b.close();
  return b.address;
}

describe('dns/forward', function () {
  this.timeout(10_000);
  let upstream: FakeUpstream;
  let records: DnsRecords;
  let server: DnsServer;
  let port: number;

  /** Restarts the server with these host upstreams. */
  async function serve(upstreams: string[]): Promise<void> {
    await server?.stop();
    records = new DnsRecords({ hostUpstreams: upstreams });
    records.add('n1', { endpointId: 'c', networkId: 'n1', sandboxId: CLIENT, name: 'client', aliases: [], ipv4: '10.5.0.2' });
    server = new DnsServer({ backend: records });
    await server.start({ listen: [{ address: '127.0.0.1', port: 0, requester: { sandboxId: CLIENT } }] });
    port = server.address()[0].port;
  }

  beforeEach(async () => {
    upstream = await new FakeUpstream({ records: { 'example.test': ['203.0.113.7'], 'big.test': BIG }, truncateOverUdp: ['big.test'] }).start();
    await serve([upstream.address]);
  });
  afterEach(async () => {
    await server.stop();
    await upstream.stop();
  });

  it('forwards unknown names and relays the answer with the client id', async () => {
    const q = query('EXAMPLE.test');
    const resp = await udpExchange(port, q);
    assert.equal(resp!.readUInt16BE(0), q.readUInt16BE(0));
    assert.deepEqual(answerData(resp), ['203.0.113.7']);
    assert.equal(rcodeOf(await udpExchange(port, query('missing.test'))), 'NXDOMAIN');
    assert.equal(upstream.udpQueries, 2);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const q = query('big.test', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] as dnsPacket.Answer[] });
    const resp = await udpExchange(port, q);
    assert.equal(answerData(resp).length, BIG.length);
    assert.equal(upstream.udpQueries, 1);
    assert.equal(upstream.tcpQueries, 1);
  });

  it('tells a plain UDP client to retry over TCP when the full answer exceeds 512 bytes, then serves it over TCP', async () => {
    const udp = decode(await udpExchange(port, query('big.test'))) as dnsPacket.DecodedPacket;
    assert.ok(udp.flag_tc);
    const [tcp] = await tcpExchange(port, frame(query('big.test')), { timeoutMs: 3000 });
    assert.equal(answerData(tcp).length, BIG.length);
    // The TCP client's query went upstream over TCP directly.
    assert.equal(upstream.udpQueries, 1);
    assert.equal(upstream.tcpQueries, 2);
  });

  it('answers SERVFAIL at once when the upstream port is closed', async () => {
    await serve([await closedPort()]);
    const started = Date.now();
    assert.equal(rcodeOf(await udpExchange(port, query('example.test'), 3000)), 'SERVFAIL');
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
  });

  it('answers SERVFAIL within 2 s when the upstreams are black holes', async () => {
    const holes = [await blackhole(), await blackhole()];
    try {
      // 192.0.2.1 (TEST-NET-1) is unroutable or silent, whichever this machine makes of it.
      await serve([holes[0].address, holes[1].address, '192.0.2.1']);
      const started = Date.now();
      const [udp, [tcp]] = await Promise.all([udpExchange(port, query('example.test'), 5000), tcpExchange(port, frame(query('example.test')), { timeoutMs: 5000 })]);
      const took = Date.now() - started;
      assert.equal(rcodeOf(udp), 'SERVFAIL');
      assert.equal(rcodeOf(tcp), 'SERVFAIL');
      assert.ok(took < 2200, `took ${took} ms`);
    } finally {
      holes.forEach((h) => h.close());
    }
  });

  it('moves on to the next upstream after a dead one, a black hole or a SERVFAIL', async () => {
    const hole = await blackhole();
    const failing = await new FakeUpstream({ records: {}, rcode: 2 }).start();
    try {
      for (const first of [await closedPort(), hole.address, failing.address]) {
        await serve([first, upstream.address]);
        const started = Date.now();
        assert.deepEqual(answerData(await udpExchange(port, query('example.test'), 3000)), ['203.0.113.7'], first);
        assert.ok(Date.now() - started < 1500);
      }
    } finally {
      hole.close();
      await failing.stop();
    }
  });

  it('gives up at once beyond its in-flight limit', async () => {
    const hole = await blackhole();
    try {
      const fwd = new Forwarder({ budgetMs: 300, maxInflight: 1 });
      const q = query('example.test');
      const slow = fwd.forward(q, q.length, [hole.address], false);
      const started = Date.now();
      assert.equal(await fwd.forward(q, q.length, [upstream.address], false), undefined);
      assert.ok(Date.now() - started < 50);
      assert.equal(await slow, undefined);
    } finally {
      hole.close();
    }
  });

  it('accepts only answers to the query it sent (id, QR, question; letter case aside)', () => {
    const q = query('Example.test');
    const resp = Buffer.from(q);
    resp[2] |= 0x80;
    assert.ok(isAnswerTo(resp, q, q.length));
    resp[13] = resp[13] ^ 0x20;
    assert.ok(isAnswerTo(resp, q, q.length));
    const otherId = Buffer.from(resp);
    otherId[1] ^= 1;
    assert.ok(!isAnswerTo(otherId, q, q.length));
    const otherName = Buffer.from(resp);
    otherName[15] = 'z'.charCodeAt(0);
    assert.ok(!isAnswerTo(otherName, q, q.length));
    assert.ok(!isAnswerTo(q, q, q.length), 'a query is not an answer');
  });

  it('parses upstream addresses with and without ports', () => {
    assert.deepEqual(parseUpstream('192.0.2.1'), { host: '192.0.2.1', port: 53, family: 4 });
    assert.deepEqual(parseUpstream('192.0.2.1:5353'), { host: '192.0.2.1', port: 5353, family: 4 });
    assert.deepEqual(parseUpstream('2001:db8::1'), { host: '2001:db8::1', port: 53, family: 6 });
    assert.deepEqual(parseUpstream('[2001:db8::1]:5353'), { host: '2001:db8::1', port: 5353, family: 6 });
    for (const bad of ['dns.example', '192.0.2.1:53:1', '192.0.2.1:0', '192.0.2.1:x', '[::1]:70000']) assert.equal(parseUpstream(bad), undefined, bad);
  });
});
