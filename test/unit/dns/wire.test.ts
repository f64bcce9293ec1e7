import * as assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { addressRecord, buildResponse, errorResponse, truncatedResponse } from '../../../src/dns/response';
import { encodeName, ParseResult, parseQuery, QueryView, reverseNameToIp, wireNameToText } from '../../../src/dns/wire';
import { query } from './helpers';

describe('dns/wire', () => {
  it('decodes a plain query into the view, lowercasing the name key', () => {
    const v = new QueryView();
    const msg = query('WeB.Example', 'AAAA');
    assert.equal(parseQuery(msg, v), ParseResult.Ok);
    assert.equal(v.id, msg.readUInt16BE(0));
    assert.equal(v.qtype, 28);
    assert.equal(v.qclass, 1);
    assert.equal(v.ednsSize, 0);
    assert.equal(v.questionEnd, msg.length);
    assert.equal(wireNameToText(v.wireName), 'web.example');
  });

  it('reads the EDNS size from a single OPT record, and from the slow path', () => {
    const v = new QueryView();
    const withOpt = query('web', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] as dnsPacket.Answer[] });
    assert.equal(parseQuery(withOpt, v), ParseResult.Ok);
    assert.equal(v.ednsSize, 4096);
    const withTwo = query('web', 'A', {
      additionals: [{ type: 'A', name: 'x', data: '10.0.0.1' }, { type: 'OPT', name: '.', udpPayloadSize: 1400 }] as dnsPacket.Answer[],
    });
    assert.equal(parseQuery(withTwo, v), ParseResult.Ok);
    assert.equal(v.ednsSize, 1400);
  });

  it('turns names with odd labels into undefined so they are never matched', () => {
    assert.equal(wireNameToText('\x03a.b\x00'), undefined);
    assert.equal(wireNameToText('\x02a\x00\x00'), undefined);
    assert.equal(wireNameToText('\x00'), '');
  });

  it('maps reverse names to addresses', () => {
    assert.equal(reverseNameToIp('4.3.2.10.in-addr.arpa'), '10.2.3.4');
    assert.equal(reverseNameToIp('3.2.10.in-addr.arpa'), undefined);
    assert.equal(reverseNameToIp('300.3.2.10.in-addr.arpa'), undefined);
    const v6 = '3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa';
    assert.equal(reverseNameToIp(v6), 'fd00:0001:0000:0000:0000:0000:0000:0003');
    assert.equal(reverseNameToIp('x.ip6.arpa'), undefined);
  });

  it('builds answers that echo the question verbatim, set TC and drop records that do not fit', () => {
    const v = new QueryView();
    const msg = query('MANY', 'A');
    parseQuery(msg, v);
    const records = Array.from({ length: 40 }, (_, i) => addressRecord(`10.0.${i}.1`, 600));
    const full = buildResponse(msg, v, { rcode: 0, authoritative: true, records, start: 3 }, 65535);
    const d = dnsPacket.decode(full) as dnsPacket.DecodedPacket;
    assert.equal(d.answers!.length, 40);
    assert.equal(d.questions![0].name, 'MANY');
    assert.equal((d.answers![0] as { data: string }).data, '10.0.3.1');
    assert.ok(d.flag_aa && !d.flag_tc && d.flag_rd && d.flag_ra);
    const cut = buildResponse(msg, v, { rcode: 0, authoritative: true, records, start: 0 }, 512);
    const c = dnsPacket.decode(cut) as dnsPacket.DecodedPacket;
    assert.ok(cut.length <= 512 && c.flag_tc);
    assert.equal(c.answers!.length, Math.floor((512 - msg.length) / 16));
  });

  it('builds header-only errors and truncation notices', () => {
    const msg = query('web');
    const err = errorResponse(msg, 1)!;
    assert.equal(err.length, 12);
    assert.equal((dnsPacket.decode(err) as { rcode?: string }).rcode, 'FORMERR');
    assert.equal(errorResponse(Buffer.alloc(5), 1), undefined);
    const tc = dnsPacket.decode(truncatedResponse(msg, msg.length)) as dnsPacket.DecodedPacket;
    assert.ok(tc.flag_tc);
    assert.equal(tc.questions!.length, 1);
  });

  it('encodes names for PTR targets', () => {
    assert.deepEqual([...encodeName('web.net.')], [3, 119, 101, 98, 3, 110, 101, 116, 0]);
  });
});
