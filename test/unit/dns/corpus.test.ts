import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DnsRecords } from '../../../src/dns/records';
import { DnsServer } from '../../../src/dns/server';
import { answerData, decode, frame, query, rcodeOf, tcpExchange, udpExchange } from './helpers';
import { CORPUS_DIR, corpus, expectation, KNOWN_NAME } from './packet-corpus';

const CLIENT = 'aaaaaaaaaaaa0001';
/** Waiting this long for an answer that must not come. */
const SILENCE_MS = 400;

function files(): [string, Buffer][] {
  return fs.readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.bin')).sort().map((f) => [f.slice(0, -4), fs.readFileSync(path.join(CORPUS_DIR, f))]);
}

/** Checks one response against the expectation in the packet's name. */
function check(fileName: string, sent: Buffer, resp: Buffer | undefined): void {
  const want = expectation(fileName);
  if (want === 'drop') return assert.equal(resp, undefined, `${fileName}: expected no answer`);
  if (want === 'any' && resp === undefined) return;
  assert.ok(resp, `${fileName}: expected an answer`);
  const msg = decode(resp);
  assert.equal(resp.readUInt16BE(0), sent.readUInt16BE(0), `${fileName}: id echoed`);
  assert.equal(msg.type, 'response', `${fileName}: QR set`);
  if (want !== 'any') assert.equal(rcodeOf(resp), want.toUpperCase(), fileName);
}

describe('dns/corpus: malformed and hostile packets', function () {
  this.timeout(20_000);
  let server: DnsServer;
  let port: number;

  before(async () => {
    const records = new DnsRecords();
    records.add('n1', { endpointId: 'e1', networkId: 'n1', sandboxId: CLIENT, name: 'client', aliases: [], ipv4: '10.3.0.2' });
    records.add('n1', { endpointId: 'e2', networkId: 'n1', sandboxId: 'bbbbbbbbbbbb0002', name: KNOWN_NAME, aliases: [], ipv4: '10.3.0.3' });
    server = new DnsServer({ backend: records });
    await server.start({ listen: [{ address: '127.0.0.1', port: 0, requester: { sandboxId: CLIENT } }] });
    port = server.address()[0].port;
  });
  after(() => server.stop());

  it('has fixture files identical to what packet-corpus.ts generates', () => {
    const generated = corpus();
    const onDisk = new Map(files());
    assert.deepEqual([...onDisk.keys()].sort(), [...generated.keys()].sort());
    for (const [n, bytes] of generated) assert.ok(onDisk.get(n)!.equals(bytes), `${n}.bin differs: regenerate the corpus`);
  });

  it('answers each packet over UDP as its name says, and keeps answering', async () => {
    const all = files();
    const answers = await Promise.all(all.map(([, bytes]) => udpExchange(port, bytes, SILENCE_MS)));
    all.forEach(([n, bytes], i) => check(n, bytes, answers[i]));
    assert.deepEqual(answerData(await udpExchange(port, query(KNOWN_NAME))), ['10.3.0.3']);
  });

  it('answers each packet over TCP as its name says, and keeps answering', async () => {
    const all = files().filter(([, bytes]) => bytes.length <= 65535);
    const answers = await Promise.all(all.map(([, bytes]) => tcpExchange(port, frame(bytes), { timeoutMs: SILENCE_MS })));
    // Over TCP a frame shorter than a header ends the connection instead of being dropped quietly.
    all.forEach(([n, bytes], i) => check(n, bytes, answers[i][0]));
    const [ok] = await tcpExchange(port, frame(query(KNOWN_NAME)));
    assert.deepEqual(answerData(ok), ['10.3.0.3']);
  });

  it('survives hostile TCP framing: zero length, a lying length, a huge pipeline', async () => {
    assert.deepEqual(await tcpExchange(port, Buffer.from([0, 0])), []);
    assert.deepEqual(await tcpExchange(port, Buffer.concat([Buffer.from([0xff, 0xff]), query(KNOWN_NAME)]), { timeoutMs: 200 }), []);
    const many = Array.from({ length: 200 }, () => query(KNOWN_NAME));
    const got = await tcpExchange(port, Buffer.concat(many.map(frame)), { count: many.length, timeoutMs: 3000 });
    assert.equal(got.length, many.length);
    assert.deepEqual(answerData(got[199]), ['10.3.0.3']);
  });

  it('stays prompt after a flood of hostile datagrams', async () => {
    const flood = dgram.createSocket('udp4');
    let answered = 0;
    flood.on('message', () => answered++);
    await new Promise<void>((r) => flood.bind(0, '127.0.0.1', r));
    const packets = [...corpus().values()].filter((b) => b.length < 2000);
    try {
      for (let round = 0; round < 20; round++) {
        for (const b of packets) flood.send(b, port, '127.0.0.1');
        // The flood comes from this very process: let the server read between rounds.
        await new Promise((r) => setImmediate(r));
      }
      // What the socket buffer could not hold is dropped, as the kernel does under any flood; let the rest drain.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      flood.close();
    }
    assert.ok(answered > packets.length, `only ${answered} answers`);
    const started = Date.now();
    assert.deepEqual(answerData(await udpExchange(port, query(KNOWN_NAME))), ['10.3.0.3']);
    assert.ok(Date.now() - started < 200);
  });
});
