/** Golden tests: each backend renders each case exactly as fixtures/firewall/golden/<case>.<backend> says. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FirewallBackend } from '../../../src/firewall/backend';
import { IptablesBackend } from '../../../src/firewall/iptables';
import { NftablesBackend } from '../../../src/firewall/nftables';
import { networkRules, portRules, type RuleSet } from '../../../src/firewall/rules';
import { DUAL_EP, DUAL_NET, INTERNAL_NET, NAT_NET } from './cases';

const GOLDEN = path.resolve(__dirname, '../../../../fixtures/firewall/golden');
const noExec = async () => { throw new Error('render must not run anything'); };

const CASES: { name: string; owner: string; rules: () => RuleSet }[] = [
  { name: 'network-nat', owner: 'network:web', rules: () => ({ base: true, networks: [networkRules(NAT_NET)], ports: [] }) },
  { name: 'network-dual-icc-off', owner: 'network:dual', rules: () => ({ base: true, networks: [networkRules(DUAL_NET)], ports: [] }) },
  { name: 'network-internal', owner: 'network:db', rules: () => ({ base: true, networks: [networkRules(INTERNAL_NET)], ports: [] }) },
  { name: 'ports-every-form', owner: 'endpoint:ep-dual', rules: () => ({ base: false, networks: [], ports: portRules(DUAL_EP) }) },
];

const BACKENDS: [string, FirewallBackend][] = [['iptables', new IptablesBackend(noExec)], ['nft', new NftablesBackend(noExec)]];

describe('firewall render (golden)', () => {
  for (const [ext, backend] of BACKENDS) {
    for (const c of CASES) {
      it(`${backend.name}: ${c.name}`, () => {
        const file = path.join(GOLDEN, `${c.name}.${ext}`);
        const text = backend.render(c.owner, c.rules());
        // UPDATE_GOLDEN=1 rewrites the fixtures; review the diff before committing.
        if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, text);
        assert.equal(text, fs.readFileSync(file, 'utf8'));
      });
    }
  }

  it('is deterministic: rendering twice gives the same text', () => {
    for (const [, backend] of BACKENDS) {
      const rules = { base: true, networks: [networkRules(DUAL_NET)], ports: portRules(DUAL_EP) };
      assert.equal(backend.render('x', rules), backend.render('x', rules));
    }
  });
});
