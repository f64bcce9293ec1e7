import * as assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { DnsRecords } from '../../../src/dns/records';
import { DnsServer } from '../../../src/dns/server';
import { answerData, decode, frame, query, rcodeOf, tcpExchange, udpExchange } from './helpers';

const CLIENT = 'aaaaaaaaaaaa0001';

function records(): DnsRecords {
  const r = new DnsRecords();
  r.setNetwork('n1', { name: 'net1' });
  r.add('n1', { endpointId: 'c', networkId: 'n1', sandboxId: CLIENT, name: 'client', aliases: [], ipv4: '10.4.0.2' });
  r.add('n1', { endpointId: 'w1', networkId: 'n1', sandboxId: 'bbbbbbbbbbbb0002', name: 'web1', aliases: ['www'], ipv4: '10.4.0.3', ipv6: 'fd00:4::3' });
  r.add('n1', { endpointId: 'w2', networkId: 'n1', sandboxId: 'cccccccccccc0003', name: 'web2', aliases: ['www'], ipv4: '10.4.0.4' });
  return r;
}

describe('dns/server', () => {
  let r: DnsRecords;
  let server: DnsServer;
  let port: number;

  beforeEach(async () => {
    r = records();
    server = new DnsServer({ backend: r, forwardBudgetMs: 300 });
    await server.start({ listen: [{ address: '127.0.0.1', port: 0, requester: { sandboxId: CLIENT } }] });
    port = server.address()[0].port;
  });
  afterEach(() => server.stop());

  it('answers A and AAAA authoritatively with Docker TTL, over UDP and TCP', async () => {
    const a = decode(await udpExchange(port, query('web1'))) as dnsPacket.DecodedPacket;
    assert.ok(a.flag_aa && a.flag_ra);
    assert.deepEqual(a.answers!.map((x) => [x.type, (x as { data: string }).data, (x as { ttl: number }).ttl]), [['A', '10.4.0.3', 600]]);
    const [aaaa] = await tcpExchange(port, frame(query('web1', 'AAAA')));
    assert.deepEqual(answerData(aaaa), ['fd00:4::3']);
  });

  it('answers PTR for sandbox addresses as name.network', async () => {
    assert.deepEqual(answerData(await udpExchange(port, query('3.0.4.10.in-addr.arpa', 'PTR'))), ['web1.net1']);
    const v6 = '3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.0.0.0.0.0.d.f.ip6.arpa';
    assert.deepEqual(answerData(await udpExchange(port, query(v6, 'PTR'))), ['web1.net1']);
  });

  it('echoes the question exactly as asked (0x20 letter case)', async () => {
    const resp = decode(await udpExchange(port, query('wEb1.')));
    assert.equal(resp.questions![0].name, 'wEb1');
    assert.deepEqual(answerData(await udpExchange(port, query('WEB1'))), ['10.4.0.3']);
  });

  it('answers NOERROR and empty for a known name without the asked type, and never forwards it', async () => {
    for (const [name, type] of [['web2', 'AAAA'], ['web1', 'MX'], ['web1', 'TXT'], ['web1', 'PTR']] as const) {
      const resp = await udpExchange(port, query(name, type));
      assert.equal(rcodeOf(resp), 'NOERROR', `${name} ${type}`);
      assert.deepEqual(answerData(resp), []);
    }
  });

  it('rotates the addresses of a shared alias between answers', async () => {
    const first = answerData(await udpExchange(port, query('www')));
    const second = answerData(await udpExchange(port, query('www')));
    assert.deepEqual([...first].sort(), ['10.4.0.3', '10.4.0.4']);
    assert.deepEqual(second, [first[1], first[0]]);
  });

  it('sees record changes at once (the cache follows the generation)', async () => {
    assert.equal(rcodeOf(await udpExchange(port, query('late'))), 'SERVFAIL');
    r.add('n1', { endpointId: 'l', networkId: 'n1', sandboxId: 'dddddddddddd0004', name: 'late', aliases: [], ipv4: '10.4.0.9' });
    assert.deepEqual(answerData(await udpExchange(port, query('late'))), ['10.4.0.9']);
    r.remove('n1', 'l');
    assert.equal(rcodeOf(await udpExchange(port, query('late'))), 'SERVFAIL');
  });

  it('truncates a big UDP answer to 512 bytes with TC, and gives it all over TCP or with EDNS', async () => {
    for (let i = 0; i < 40; i++) r.add('n1', { endpointId: `m${i}`, networkId: 'n1', sandboxId: `eeeeeeeeeeee${i}`, name: `m${i}`, aliases: ['many'], ipv4: `10.4.1.${i + 1}` });
    const udp = await udpExchange(port, query('many'));
    const d = decode(udp) as dnsPacket.DecodedPacket;
    assert.ok(d.flag_tc && udp!.length <= 512 && d.answers!.length > 0);
    const [tcp] = await tcpExchange(port, frame(query('many')));
    assert.equal(answerData(tcp).length, 40);
    const edns = await udpExchange(port, query('many', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] as dnsPacket.Answer[] }));
    assert.equal(answerData(edns).length, 40);
    assert.ok(!(decode(edns) as dnsPacket.DecodedPacket).flag_tc);
  });

  it('refuses classes other than IN, and fails unknown names fast when nothing may be forwarded', async () => {
    const chaos = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] });
    assert.equal(rcodeOf(await udpExchange(port, chaos)), 'REFUSED');
    r.setNetwork('n1', { name: 'net1', internal: true, upstreams: ['127.0.0.1:9'] });
    const started = Date.now();
    assert.equal(rcodeOf(await udpExchange(port, query('example.com'))), 'SERVFAIL');
    assert.ok(Date.now() - started < 100, 'internal networks never wait for an upstream');
    assert.deepEqual(answerData(await udpExchange(port, query('web1'))), ['10.4.0.3']);
  });

  it('identifies the requester by source address on a listener without a fixed requester', async () => {
    const shared = new DnsServer({ backend: r });
    await shared.start({ listen: [{ address: '127.0.0.1', port: 0 }] });
    try {
      const p = shared.address()[0].port;
      // Nobody on tsnet has 127.0.0.1 yet: a stranger gets nothing, not even forwarding.
      assert.equal(rcodeOf(await udpExchange(p, query('web1'))), 'SERVFAIL');
      r.add('n1', { endpointId: 'lo', networkId: 'n1', sandboxId: 'ffffffffffff0005', name: 'local', aliases: [], ipv4: '127.0.0.1' });
      assert.deepEqual(answerData(await udpExchange(p, query('web1'))), ['10.4.0.3']);
      const [viaTcp] = await tcpExchange(p, frame(query('web2')));
      assert.deepEqual(answerData(viaTcp), ['10.4.0.4']);
    } finally {
      await shared.stop();
    }
  });

  it('stops listening on stop()', async () => {
    await server.stop();
    assert.equal(await udpExchange(port, query('web1'), 200), undefined);
    server = new DnsServer({ backend: r });
  });
});
