import * as assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../src/errors';
import { type DnsEntry, DnsRecords } from '../../../src/dns/records';

/** Sandbox ids long enough to have a Docker short id. */
const SB = {
  client: 'aaaaaaaaaaaa0000000000000000000000000000000000000000000000000001',
  web1: 'bbbbbbbbbbbb0000000000000000000000000000000000000000000000000002',
  web2: 'cccccccccccc0000000000000000000000000000000000000000000000000003',
  other: 'dddddddddddd0000000000000000000000000000000000000000000000000004',
};

function entry(networkId: string, sandboxId: string, name: string, extra: Partial<DnsEntry> = {}): DnsEntry {
  return { endpointId: `${networkId}-${name}`, networkId, sandboxId, name, aliases: [], ...extra };
}

/** front (client, web1, web2) and back (web1 with another address, other). */
function fixture(): DnsRecords {
  const r = new DnsRecords({ hostUpstreams: ['192.0.2.53'] });
  r.setNetwork('front', { name: 'frontnet' });
  r.setNetwork('back', { name: 'backnet' });
  r.add('front', entry('front', SB.client, 'client', { ipv4: '10.1.0.2' }));
  r.add('front', entry('front', SB.web1, 'web1', { aliases: ['www'], ipv4: '10.1.0.3', ipv6: 'fd00:1::3' }));
  r.add('front', entry('front', SB.web2, 'web2', { aliases: ['www'], ipv4: '10.1.0.4' }));
  r.add('back', entry('back', SB.web1, 'web1', { aliases: ['api'], ipv4: '10.2.0.3' }));
  r.add('back', entry('back', SB.other, 'other', { ipv4: '10.2.0.5' }));
  return r;
}

const client = { sandboxId: SB.client };

describe('dns/records', () => {
  it('answers only names on networks the requester shares, with the address on that network', () => {
    const r = fixture();
    assert.deepEqual(r.lookup(client, 'web1', 4), { ips: ['10.1.0.3'], authoritative: true });
    assert.deepEqual(r.lookup(client, 'other', 4), { ips: [], authoritative: false });
    assert.deepEqual(r.lookup({ sandboxId: SB.other }, 'web1', 4), { ips: ['10.2.0.3'], authoritative: true });
    // web1 sits on both networks: asked from itself, both addresses.
    assert.deepEqual(r.lookup({ sandboxId: SB.web1 }, 'web1', 4).ips.sort(), ['10.1.0.3', '10.2.0.3']);
  });

  it('scopes aliases to the network they were given on', () => {
    const r = fixture();
    assert.equal(r.lookup(client, 'api', 4).authoritative, false);
    assert.deepEqual(r.lookup({ sandboxId: SB.other }, 'api', 4).ips, ['10.2.0.3']);
    assert.equal(r.lookup({ sandboxId: SB.other }, 'www', 4).authoritative, false);
  });

  it('returns every address of a shared alias and rotates their order between answers', () => {
    const r = fixture();
    const first = r.lookup(client, 'www', 4).ips;
    const second = r.lookup(client, 'www', 4).ips;
    assert.deepEqual([...first].sort(), ['10.1.0.3', '10.1.0.4']);
    assert.deepEqual(second, [first[1], first[0]]);
    assert.deepEqual(r.lookup(client, 'www', 4).ips, first);
  });

  it('answers AAAA, and is authoritative without an address of the family', () => {
    const r = fixture();
    assert.deepEqual(r.lookup(client, 'web1', 6), { ips: ['fd00:1::3'], authoritative: true });
    assert.deepEqual(r.lookup(client, 'web2', 6), { ips: [], authoritative: true });
  });

  it('resolves the short id, ignoring case and a trailing dot', () => {
    const r = fixture();
    for (const name of ['bbbbbbbbbbbb', 'BBBBBBBBBBBB.', 'WeB1.', 'WEB1']) assert.deepEqual(r.lookup(client, name, 4).ips, ['10.1.0.3'], name);
    assert.equal(r.lookup(client, 'bbbbbbbbbbbb0', 4).authoritative, false);
  });

  it('resolves "name.network" on that network only', () => {
    const r = fixture();
    assert.deepEqual(r.lookup({ sandboxId: SB.web1 }, 'web1.backnet', 4).ips, ['10.2.0.3']);
    assert.deepEqual(r.lookup({ sandboxId: SB.web1 }, 'WEB1.frontnet.', 4).ips, ['10.1.0.3']);
    assert.equal(r.lookup(client, 'other.backnet', 4).authoritative, false);
  });

  it('resolves "name.domain" on a network with that domain (podman\'s dns.podman), names and aliases alike', () => {
    const r = fixture();
    r.setNetwork('front', { name: 'frontnet', domain: 'dns.podman' });
    assert.deepEqual(r.lookup(client, 'web2.dns.podman', 4).ips, ['10.1.0.4']);
    assert.deepEqual(r.lookup(client, 'WWW.DNS.PODMAN.', 4).ips.sort(), ['10.1.0.3', '10.1.0.4']);
    assert.equal(r.lookup(client, 'other.dns.podman', 4).authoritative, false, 'not on a network the client shares');
    assert.equal(r.lookup({ sandboxId: SB.other }, 'other.dns.podman', 4).authoritative, false, 'back has no such domain');
    assert.throws(() => r.setNetwork('back', { domain: 'bad domain' }), InvalidArgumentError);
  });

  it('identifies a requester by source address as well as by sandbox id', () => {
    const r = fixture();
    assert.deepEqual(r.lookup({ ip: '10.1.0.2' }, 'web2', 4).ips, ['10.1.0.4']);
    assert.deepEqual(r.lookup({ ip: '::ffff:10.1.0.2' }, 'web2', 4).ips, ['10.1.0.4']);
    assert.equal(r.lookup({ ip: '10.9.9.9' }, 'web2', 4).authoritative, false);
  });

  it('answers PTR for sandbox addresses on shared networks as "name.network"', () => {
    const r = fixture();
    assert.deepEqual(r.reverse(client, '10.1.0.3'), ['web1.frontnet']);
    assert.deepEqual(r.reverse(client, 'fd00:1:0:0::3'), ['web1.frontnet']);
    assert.deepEqual(r.reverse(client, '10.2.0.3'), []);
    assert.deepEqual(r.reverse({ sandboxId: SB.other }, '10.2.0.3'), ['web1.backnet']);
    assert.deepEqual(r.reverse(client, 'not-an-ip'), []);
  });

  it('forgets removed endpoints and networks, and bumps the generation on every change', () => {
    const r = fixture();
    const g = r.generation;
    assert.equal(r.remove('front', 'front-web2'), true);
    assert.equal(r.remove('front', 'front-web2'), false);
    assert.deepEqual(r.lookup(client, 'www', 4).ips, ['10.1.0.3']);
    r.removeNetwork('back');
    assert.equal(r.lookup({ sandboxId: SB.web1 }, 'api', 4).authoritative, false);
    assert.ok(r.generation > g);
    r.clear();
    assert.equal(r.lookup(client, 'web1', 4).authoritative, false);
  });

  it('replaces an endpoint added twice instead of duplicating it', () => {
    const r = fixture();
    r.add('front', entry('front', SB.web2, 'web2', { aliases: [], ipv4: '10.1.0.9' }));
    assert.deepEqual(r.lookup(client, 'web2', 4).ips, ['10.1.0.9']);
    assert.deepEqual(r.lookup(client, 'www', 4).ips, ['10.1.0.3']);
    assert.deepEqual(r.reverse(client, '10.1.0.4'), []);
  });

  it('picks upstreams: sandbox --dns, then network servers, then the host', () => {
    const r = fixture();
    assert.deepEqual(r.upstreams(client), ['192.0.2.53']);
    r.setNetwork('front', { name: 'frontnet', upstreams: ['198.51.100.1'] });
    assert.deepEqual(r.upstreams(client), ['198.51.100.1']);
    r.setSandboxUpstreams(SB.client, ['203.0.113.9:5353']);
    assert.deepEqual(r.upstreams(client), ['203.0.113.9:5353']);
    r.setSandboxUpstreams(SB.client, undefined);
    r.setNetwork('front', { name: 'frontnet' });
    r.setHostUpstreams(['192.0.2.54']);
    assert.deepEqual(r.upstreams(client), ['192.0.2.54']);
  });

  it('is internal when every network of the requester is, or when it is unknown', () => {
    const r = fixture();
    assert.equal(r.isInternal(client), false);
    r.setNetwork('front', { name: 'frontnet', internal: true });
    assert.equal(r.isInternal(client), true);
    assert.deepEqual(r.upstreams(client), []);
    // web1 is also on back, which is not internal.
    assert.equal(r.isInternal({ sandboxId: SB.web1 }), false);
    assert.equal(r.isInternal({ sandboxId: 'nobody' }), true);
  });

  const invalid: [string, Partial<DnsEntry>][] = [
    ['empty name', { name: '' }],
    ['space in name', { name: 'a b' }],
    ['long label', { name: 'x'.repeat(64) }],
    ['empty alias label', { aliases: ['a..b'] }],
    ['bad ipv4', { ipv4: '10.0.0.300' }],
    ['v6 as ipv4', { ipv4: 'fd00::1' }],
    ['bad ipv6', { ipv6: '10.0.0.1' }],
    ['network mismatch', { networkId: 'back' }],
  ];
  for (const [what, bad] of invalid) {
    it(`rejects an entry with ${what}`, () => {
      const r = fixture();
      const g = r.generation;
      assert.throws(() => r.add('front', { ...entry('front', SB.client, 'x'), ...bad }), InvalidArgumentError);
      assert.equal(r.generation, g);
    });
  }

  it('accepts addresses given as CIDR and drops the prefix', () => {
    const r = fixture();
    r.add('front', entry('front', SB.other, 'cidr', { ipv4: '10.1.0.7/16' }));
    assert.deepEqual(r.lookup(client, 'cidr', 4).ips, ['10.1.0.7']);
  });
});
