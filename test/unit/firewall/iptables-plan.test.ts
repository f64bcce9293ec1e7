/** iptables: parsing real iptables-save output and planning what one batch adds or deletes. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IptablesBackend } from '../../../src/firewall/iptables';
import { guarded, planApply, planRemove, reversePlan } from '../../../src/firewall/iptables-plan';
import {
  bridgesOf, bucketOf, familyBatch, joinBatches, parseSave, planText, portPrerequisites, publishedPorts, type IptSnapshot,
} from '../../../src/firewall/iptables-rules';
import { networkHash, networkRules, portRules, type RuleSet } from '../../../src/firewall/rules';

const LISTINGS = path.resolve(__dirname, '../../../../fixtures/firewall/listings');
// Captured from the kernel: networks n1 (br1, dual-stack) and n2 (br2, internal, icc off), one endpoint, one TSNET-USER rule.
const save4 = () => parseSave(fs.readFileSync(path.join(LISTINGS, 'two-networks.iptables-save'), 'utf8'));
const N1 = networkRules({ id: 'n1', name: 'n1', bridge: 'br1', subnets: ['172.18.0.0/16', 'fd00:1::/64'], internal: false, masquerade: true, icc: true });
const N2 = networkRules({ id: 'n2', name: 'n2', bridge: 'br2', subnets: ['172.19.0.0/16'], internal: true, masquerade: true, icc: false });
const EP = { id: 'e1', networkId: 'n1', bridge: 'br1', ipv4: '172.18.0.2', ipv6: 'fd00:1::2', ports: [{ protocol: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 8080 }] };
const EMPTY: IptSnapshot = { chains: new Set(), rules: new Map() };
const lines = (plans: { lines: string[] }[]) => plans.flatMap((p) => p.lines);

describe('iptables plans', () => {
  it('reads bridges, published ports and TSNET-USER rules from iptables-save', () => {
    const snap = save4();
    assert.deepEqual(bridgesOf(snap), ['br1', 'br2']);
    assert.deepEqual(publishedPorts(snap, 4).map((p) => `${p.hostIp}:${p.hostPort}/${p.protocol}->${p.containerIp}:${p.containerPort}`), [':8080/tcp->172.18.0.2:80', '127.0.0.1:5353/udp->172.18.0.2:53']);
    assert.deepEqual(snap.rules.get('filter/TSNET-USER'), ['-s 192.0.2.66/32 -j DROP']);
  });

  it('renders rules exactly as iptables-save prints them, so applying again adds nothing', () => {
    const rules: RuleSet = { base: true, networks: [N1, N2], ports: portRules(EP) };
    assert.deepEqual(planApply(familyBatch(rules, 4, true), save4()), []);
  });

  it('adds only what is missing: a port in a bucket in use is two appended rules, nothing rewritten', () => {
    const ep = { ...EP, ports: [...EP.ports, { protocol: 'tcp' as const, containerPort: 443, hostIp: '', hostPort: 8081 }] };
    const plans = planApply(familyBatch({ base: false, networks: [], ports: portRules(ep) }, 4, false), save4());
    assert.deepEqual(lines(plans), [
      '-A TSNET-PUBLISHED-tcp-126 -d 172.18.0.2/32 -p tcp -m tcp --dport 443 -m conntrack --ctstate DNAT --ctorigdstport 8081 -j ACCEPT',
      '-A TSNET-DNAT-tcp-126 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.18.0.2:443',
    ]);
    assert.ok(plans.every((p) => p.declare.length === 0));
  });

  it('a port in a new bucket brings the bucket: its chain in each table and the range jump to it', () => {
    const ep = { ...EP, ports: [{ protocol: 'tcp' as const, containerPort: 443, hostIp: '', hostPort: 8443 }] };
    const plans = planApply(familyBatch({ base: false, networks: [], ports: portRules(ep) }, 4, false), save4());
    assert.deepEqual(plans.map((p) => p.declare), [['TSNET-PUBLISHED-tcp-131'], ['TSNET-DNAT-tcp-131']]);
    assert.ok(lines(plans).includes('-A TSNET-DNAT -p tcp -m tcp --dport 8384:8447 -j TSNET-DNAT-tcp-131'));
    assert.ok(lines(plans).includes('-A TSNET-PUBLISHED -p tcp -m conntrack --ctorigdstport 8384:8447 -j TSNET-PUBLISHED-tcp-131'));
    assert.deepEqual(bucketOf('sctp', 65535), bucketOf('sctp', 65472));
    assert.notDeepEqual(bucketOf('sctp', 65471), bucketOf('sctp', 65472));
    assert.match(bucketOf('udp', 1).natJump, /--dport 0:63 -j TSNET-DNAT-udp-0$/);
  });

  it('unpublishing deletes the port\'s two rules, and the bucket with its jumps once it is empty', () => {
    const snap = save4();
    const only8080 = familyBatch({ base: false, networks: [], ports: portRules(EP) }, 4, false);
    const out = lines(planRemove(only8080, snap, { complete: false, subnets: [] }));
    assert.deepEqual(out.filter((l) => l.startsWith('-D TSNET-DNAT ') || l.startsWith('-D TSNET-PUBLISHED ')), [
      '-D TSNET-PUBLISHED -p tcp -m conntrack --ctorigdstport 8064:8127 -j TSNET-PUBLISHED-tcp-126',
      '-D TSNET-DNAT -p tcp -m tcp --dport 8064:8127 -j TSNET-DNAT-tcp-126',
    ]);
    assert.ok(out.includes('-X TSNET-DNAT-tcp-126') && out.includes('-X TSNET-PUBLISHED-tcp-126'));
    assert.ok(!out.some((l) => l.includes('udp')), 'the other bucket stays');
    // With another port left in the bucket, only the port's own rules go.
    snap.rules.get('nat/TSNET-DNAT-tcp-126')!.push('-p tcp -m tcp --dport 8000 -j DNAT --to-destination 172.18.0.9:80');
    const kept = lines(planRemove(only8080, snap, { complete: false, subnets: [] }));
    assert.deepEqual(kept.filter((l) => l.startsWith('-D TSNET-DNAT')), ['-D TSNET-DNAT-tcp-126 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80']);
    assert.ok(!kept.some((l) => l.startsWith('-X TSNET-DNAT')));
  });

  it('publishing onto rules from a tsnet without buckets first adds TSNET-PUBLISHED and the network\'s jump to it', () => {
    const snap = save4();
    snap.chains.delete('filter/TSNET-PUBLISHED');
    snap.rules.delete(`filter/TSNET-${networkHash('n1')}`);
    const ports = portRules({ ...EP, ports: [{ protocol: 'tcp' as const, containerPort: 443, hostIp: '', hostPort: 8081 }] });
    const plans = planApply(joinBatches([portPrerequisites(ports, 4), familyBatch({ base: false, networks: [], ports }, 4, false)]), snap);
    assert.deepEqual(plans[0].declare, ['TSNET-PUBLISHED']);
    assert.equal(plans[0].lines[0], `-A TSNET-${networkHash('n1')} -m conntrack --ctstate DNAT -j TSNET-PUBLISHED`);
    assert.deepEqual(planApply(portPrerequisites(ports, 4), save4()), [], 'nothing when they are there');
  });

  it('a partial snapshot\'s plan creates chains with -N and asserts the network first; undoing it deletes them', () => {
    const ep = { ...EP, ports: [{ protocol: 'tcp' as const, containerPort: 443, hostIp: '', hostPort: 8443 }] };
    const plans = planApply(familyBatch({ base: false, networks: [], ports: portRules(ep) }, 4, false), EMPTY);
    const batch = guarded(plans, [{ table: 'filter', chain: 'TSNET-FORWARD', spec: '-o br1 -j TSNET-x' }]);
    assert.deepEqual(batch.map((p) => p.lines[0]), ['-C TSNET-FORWARD -o br1 -j TSNET-x', '-N TSNET-DNAT-tcp-131']);
    assert.ok(batch.every((p) => p.declare.length === 0));
    const undo = lines(reversePlan(batch));
    assert.ok(!undo.some((l) => l.startsWith('-C')));
    assert.ok(undo.indexOf('-D TSNET-DNAT -p tcp -m tcp --dport 8384:8447 -j TSNET-DNAT-tcp-131') < undo.indexOf('-X TSNET-DNAT-tcp-131'));
  });

  it('never re-declares an existing chain (iptables-restore --noflush would flush it)', () => {
    const plans = planApply(familyBatch({ base: true, networks: [networkRules({ ...N2Input(), id: 'n3', bridge: 'br3' })], ports: [] }, 4, true), save4());
    assert.deepEqual(plans.flatMap((p) => p.declare), [`TSNET-${networkHash('n3')}`]);
  });

  it('moves the kept TSNET-USER jump back in front when TSNET-FORWARD is inserted again', () => {
    const snap: IptSnapshot = { chains: new Set(['filter/FORWARD', 'filter/TSNET-USER']), rules: new Map([['filter/FORWARD', ['-j TSNET-USER']], ['filter/TSNET-USER', ['-j DROP']]]) };
    const filter = planApply(familyBatch({ base: true, networks: [N1], ports: [] }, 4, true), snap).find((p) => p.table === 'filter')!;
    assert.ok(!filter.declare.includes('TSNET-USER'));
    const fwd = filter.lines.filter((l) => / FORWARD /.test(l));
    assert.deepEqual(fwd, ['-D FORWARD -j TSNET-USER', '-I FORWARD 1 -j TSNET-FORWARD', '-I FORWARD 1 -j TSNET-USER']);
  });

  it('removes one network: its rules and chain, leftover ports into its subnet with their buckets, nothing of the other', () => {
    const plans = planRemove(familyBatch({ base: false, networks: [N1], ports: [] }, 4, false), save4(), { complete: false, subnets: N1.subnets[4] });
    const out = lines(plans);
    assert.ok(out.includes('-D TSNET-ISOLATION-STAGE-2 -o br1 -j DROP'));
    // Both of n1's ports were left behind: their buckets empty, so the buckets go whole.
    for (const c of ['TSNET-DNAT-tcp-126', 'TSNET-DNAT-udp-83', 'TSNET-PUBLISHED-tcp-126', 'TSNET-PUBLISHED-udp-83']) assert.ok(out.includes(`-X ${c}`), c);
    assert.ok(out.includes('-D TSNET-DNAT -p udp -m udp --dport 5312:5375 -j TSNET-DNAT-udp-83'));
    assert.ok(out.includes(`-X TSNET-${networkHash('n1')}`) && out.indexOf(`-F TSNET-${networkHash('n1')}`) < out.indexOf(`-X TSNET-${networkHash('n1')}`));
    assert.ok(!out.some((l) => l.includes('br2') || l.includes(networkHash('n2'))));
    // A port of another network in the same bucket keeps the bucket; only the orphan goes.
    const snap = save4();
    snap.rules.get('nat/TSNET-DNAT-tcp-126')!.push('-p tcp -m tcp --dport 8000 -j DNAT --to-destination 172.19.0.5:80');
    const kept = lines(planRemove(familyBatch({ base: false, networks: [N1], ports: [] }, 4, false), snap, { complete: false, subnets: N1.subnets[4] }));
    assert.ok(kept.includes('-D TSNET-DNAT-tcp-126 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80'));
    assert.ok(!kept.includes('-X TSNET-DNAT-tcp-126'));
  });

  it('full teardown removes the base but keeps a TSNET-USER an operator filled', () => {
    const out = lines(planRemove(familyBatch({ base: true, networks: [N1, N2], ports: [] }, 4, true), save4(), { complete: true, subnets: [] }));
    assert.ok(out.includes('-X TSNET-FORWARD') && out.includes('-X TSNET-DNAT') && out.includes('-D FORWARD -j TSNET-FORWARD'));
    assert.ok(out.includes('-X TSNET-PUBLISHED') && out.includes('-X TSNET-DNAT-tcp-126') && out.includes('-X TSNET-PUBLISHED-udp-83'));
    assert.ok(out.indexOf('-F TSNET-DNAT') < out.indexOf('-X TSNET-DNAT-tcp-126'), 'the jumps go before the buckets');
    assert.ok(!out.some((l) => l.includes('TSNET-USER')));
  });

  it('full teardown removes an empty TSNET-USER and its jump', () => {
    const snap = save4();
    snap.rules.delete('filter/TSNET-USER');
    const out = lines(planRemove(familyBatch({ base: true, networks: [], ports: [] }, 4, true), snap, { complete: true, subnets: [] }));
    assert.ok(out.includes('-D FORWARD -j TSNET-USER') && out.includes('-X TSNET-USER'));
    // Chains from both networks go, even those not named in the request.
    assert.ok(out.includes(`-X TSNET-${networkHash('n2')}`));
  });

  it('removing what is not there plans nothing; reversing an apply deletes what it added', () => {
    assert.deepEqual(planRemove(familyBatch({ base: false, networks: [], ports: portRules(EP) }, 4, false), EMPTY, { complete: false, subnets: [] }), []);
    const plans = planApply(familyBatch({ base: true, networks: [N1], ports: [] }, 4, true), EMPTY);
    const undo = planText('undo', reversePlan(plans));
    assert.match(undo, /-D FORWARD -j TSNET-USER\n/);
    assert.match(undo, /-X TSNET-FORWARD\n/);
    assert.ok(undo.indexOf('-D TSNET-FORWARD -j TSNET-ISOLATION-STAGE-1') < undo.indexOf('-X TSNET-FORWARD'));
  });

  it('runs one restore per family and rolls back the first when the second fails', async () => {
    const calls: string[] = [];
    const exec = async (file: string) => {
      calls.push(file);
      if (file === 'ip6tables-restore') throw new Error('boom');
      return { stdout: '' };
    };
    const b = new IptablesBackend(exec);
    await assert.rejects(b.apply('network:n1', { base: true, networks: [N1], ports: [] }), /boom/);
    assert.deepEqual(calls, ['iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore', 'iptables-restore']);
  });
});

function N2Input() {
  return { id: 'n2', name: 'n2', bridge: 'br2', subnets: ['172.19.0.0/16'], internal: true, masquerade: true, icc: false };
}
