/** iptables: parsing real iptables-save output and planning what one batch adds or deletes. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IptablesBackend } from '../../../src/firewall/iptables';
import {
  bridgesOf, familyBatch, parseSave, planApply, planRemove, planText, publishedPorts, reversePlan, type IptSnapshot,
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

  it('adds only what is missing: a new port is two appended rules, nothing rewritten', () => {
    const ep = { ...EP, ports: [...EP.ports, { protocol: 'tcp' as const, containerPort: 443, hostIp: '', hostPort: 8443 }] };
    const plans = planApply(familyBatch({ base: false, networks: [], ports: portRules(ep) }, 4, false), save4());
    assert.deepEqual(lines(plans), [
      `-A TSNET-${networkHash('n1')} -d 172.18.0.2/32 -p tcp -m tcp --dport 443 -m conntrack --ctstate DNAT -j ACCEPT`,
      '-A TSNET-DNAT -p tcp -m tcp --dport 8443 -j DNAT --to-destination 172.18.0.2:443',
    ]);
    assert.ok(plans.every((p) => p.declare.length === 0));
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

  it('removes one network: its rules and chain, leftover DNATs into its subnet, nothing of the other', () => {
    const plans = planRemove(familyBatch({ base: false, networks: [N1], ports: [] }, 4, false), save4(), { complete: false, subnets: N1.subnets[4] });
    const out = lines(plans);
    assert.ok(out.includes('-D TSNET-ISOLATION-STAGE-2 -o br1 -j DROP'));
    assert.ok(out.includes('-D TSNET-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80'));
    assert.deepEqual(plans.find((p) => p.table === 'filter')!.lines.slice(-2), [`-F TSNET-${networkHash('n1')}`, `-X TSNET-${networkHash('n1')}`]);
    assert.ok(!out.some((l) => l.includes('br2')));
  });

  it('full teardown removes the base but keeps a TSNET-USER an operator filled', () => {
    const out = lines(planRemove(familyBatch({ base: true, networks: [N1, N2], ports: [] }, 4, true), save4(), { complete: true, subnets: [] }));
    assert.ok(out.includes('-X TSNET-FORWARD') && out.includes('-X TSNET-DNAT') && out.includes('-D FORWARD -j TSNET-FORWARD'));
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
