/** nftables: parsing a real `nft -j list table inet tsnet` and planning element adds/deletes. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NftablesBackend } from '../../../src/firewall/nftables';
import { NO_TABLE, bridgesOf, parseList, planApply, planRemove, publishedPorts } from '../../../src/firewall/nftables-rules';
import { networkRules, portRules } from '../../../src/firewall/rules';

const LISTINGS = path.resolve(__dirname, '../../../../fixtures/firewall/listings');
// Captured from the kernel: the same two networks, endpoint and TSNET-USER rule as the iptables listing.
const json = () => fs.readFileSync(path.join(LISTINGS, 'two-networks.nft.json'), 'utf8');
const N1 = networkRules({ id: 'n1', name: 'n1', bridge: 'br1', subnets: ['172.18.0.0/16', 'fd00:1::/64'], internal: false, masquerade: true, icc: true });
const N2 = networkRules({ id: 'n2', name: 'n2', bridge: 'br2', subnets: ['172.19.0.0/16'], internal: true, masquerade: true, icc: false });
const EP = {
  id: 'e1', networkId: 'n1', bridge: 'br1', ipv4: '172.18.0.2', ipv6: 'fd00:1::2',
  ports: [
    { protocol: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 8080 },
    { protocol: 'udp' as const, containerPort: 53, hostIp: '127.0.0.1', hostPort: 5353 },
    { protocol: 'sctp' as const, containerPort: 9, hostIp: 'fd00:1::1', hostPort: 9999 },
  ],
};

describe('nftables plans', () => {
  it('reads bridges, published ports and TSNET-USER rules from the JSON listing', () => {
    const snap = parseList(json());
    assert.deepEqual(bridgesOf(snap), ['br1', 'br2']);
    assert.equal(snap.userRules, 1);
    const ports = publishedPorts(snap).map((p) => `${p.family} ${p.hostIp}:${p.hostPort}/${p.protocol}->${p.containerIp}:${p.containerPort}`).sort();
    assert.deepEqual(ports, ['4 127.0.0.1:5353/udp->172.18.0.2:53', '4 :8080/tcp->172.18.0.2:80', '6 :8080/tcp->fd00:1::2:80', '6 fd00:1::1:9999/sctp->fd00:1::2:9']);
  });

  it('renders elements exactly as the kernel lists them (every rendered element is found)', () => {
    const snap = parseList(json());
    const del = planRemove({ base: false, networks: [N1, N2], ports: portRules(EP) }, snap, []);
    const count = (s: string) => (s.match(/,/g)?.length ?? 0) + 1;
    const total = del.reduce((n, s) => n + count(s), 0);
    const listed = [...snap.elements.values()].reduce((n, m) => n + m.size, 0);
    assert.equal(total, listed);
  });

  it('creates the table with its rules only when it is missing; otherwise only adds elements', () => {
    const rules = { base: true, networks: [N2], ports: [] };
    assert.match(planApply(rules, NO_TABLE)[0], /^add table inet tsnet$/);
    assert.ok(planApply(rules, parseList(json())).every((s) => s.startsWith('add element')));
  });

  it('unpublishing deletes only present elements, by key', () => {
    const snap = parseList(json());
    const ep = { ...EP, ports: [...EP.ports, { protocol: 'tcp' as const, containerPort: 81, hostIp: '', hostPort: 8181 }] };
    const del = planRemove({ base: false, networks: [], ports: portRules(ep) }, snap, []);
    assert.ok(del.includes('delete element inet tsnet dnat4 { 127.0.0.1 . udp . 5353 }'));
    assert.ok(!del.some((s) => s.includes('8181') || s.includes(' : ')));
  });

  it('tearing down a network also drops port elements left pointing into its subnets', () => {
    const del = planRemove({ base: false, networks: [N1], ports: [] }, parseList(json()), [...N1.subnets[4], ...N1.subnets[6]]);
    assert.ok(del.includes('delete element inet tsnet dnat4-any { tcp . 8080 }'));
    assert.ok(del.some((s) => s.startsWith('delete element inet tsnet bridges { "br1" }')));
    assert.ok(!del.some((s) => s.includes('br2')));
  });

  it('unpublishing leaves an element under the same key with another value alone (another endpoint\'s)', () => {
    const snap = parseList(json());
    const other = { ...EP, id: 'e9', ipv4: '172.18.0.9', ipv6: undefined, ports: [EP.ports[0]] };
    const del = planRemove({ base: false, networks: [], ports: portRules(other) }, snap, []);
    assert.deepEqual(del, []);
  });

  it('brings claims in line with the DNAT maps: a table from before claims gets them, a stale claim goes first', () => {
    const old = parseList(json());
    old.elements.delete('claims4');
    old.elements.delete('claims6');
    const extra = { ...EP, ports: [{ protocol: 'tcp' as const, containerPort: 81, hostIp: '', hostPort: 8181 }] };
    const plan = planApply({ base: false, networks: [], ports: portRules(extra) }, old);
    assert.deepEqual(plan.slice(0, 2), ['add map inet tsnet claims4 { type inet_proto . inet_service : mark; }', 'add map inet tsnet claims6 { type inet_proto . inet_service : mark; }']);
    assert.ok(plan.includes('add element inet tsnet claims4 { tcp . 8181 : 1, udp . 5353 : 2, tcp . 8080 : 1 }'));
    const stale = parseList(json());
    stale.elements.get('claims4')!.set('tcp . 8181', '2');
    const fixed = planApply({ base: false, networks: [], ports: portRules(extra) }, stale);
    assert.deepEqual(fixed.filter((x) => x.includes('claims4')), ['delete element inet tsnet claims4 { tcp . 8181 }', 'add element inet tsnet claims4 { tcp . 8181 : 1 }']);
  });

  it('a claim goes with the last binding that holds its port', () => {
    const snap = parseList(json());
    const del = planRemove({ base: false, networks: [], ports: portRules(EP) }, snap, []);
    assert.ok(del.includes('delete element inet tsnet claims4 { tcp . 8080, udp . 5353 }'));
    snap.elements.get('dnat4')!.set('127.0.0.2 . udp . 5353', '172.18.0.7 . 53');
    const kept = planRemove({ base: false, networks: [], ports: portRules(EP) }, snap, []);
    assert.ok(kept.includes('delete element inet tsnet claims4 { tcp . 8080 }'), '127.0.0.2 still holds udp 5353');
  });

  it('full teardown deletes the table, or only empties it while TSNET-USER has rules', () => {
    const snap = parseList(json());
    assert.ok(planRemove({ base: true, networks: [], ports: [] }, snap, []).every((s) => s.startsWith('flush ')));
    assert.deepEqual(planRemove({ base: true, networks: [], ports: [] }, { ...snap, userRules: 0 }, []), ['delete table inet tsnet']);
    assert.deepEqual(planRemove({ base: true, networks: [N1], ports: [] }, NO_TABLE, []), []);
  });

  it('a missing table lists as an empty state; other nft errors propagate', async () => {
    const missing = new NftablesBackend(async () => { throw new Error('nft -j list: Error: No such file or directory'); });
    assert.equal((await missing.list()).base, false);
    const broken = new NftablesBackend(async () => { throw new Error('nft: Operation not permitted'); });
    await assert.rejects(broken.list(), /Operation not permitted/);
  });

  it('sends one nft -f - transaction per change', async () => {
    const calls: [string, readonly string[], string | undefined][] = [];
    const b = new NftablesBackend(async (file, args, opts) => {
      calls.push([file, args, opts?.input]);
      if (args[0] === '-j') throw new Error('No such file or directory');
      return { stdout: '' };
    });
    await b.apply('network:n1', { base: true, networks: [N1], ports: portRules(EP) });
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].slice(0, 2), ['nft', ['-f', '-']]);
    assert.match(calls[1][2]!, /^# network:n1 apply\nadd table inet tsnet\n/);
  });
});
