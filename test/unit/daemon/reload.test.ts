import { strict as assert } from 'node:assert';
import type { DaemonConfig } from '../../../src/config';
import type { Core } from '../../../src/controller/core';
import { reloadConfig } from '../../../src/controller/reload';
import { reloadLine } from '../../../src/daemon/daemon';

describe('daemon config reload (SIGHUP)', () => {
  it('applies the run-time keys, keeps the others until a restart, and says which in one line', async () => {
    // Only core.config is touched when no firewall key changed.
    const core = { config: { bip: '10.1.0.1/24', dns: ['192.0.2.1'], mtu: 1400 } as DaemonConfig } as Core;
    const next: DaemonConfig = { bip: '10.2.0.1/24', 'dns-search': ['example.com'], 'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }] };
    const r = await reloadConfig(core, next);
    assert.deepEqual(r, { reloaded: ['dns', 'dns-search', 'default-address-pools'], needRestart: ['bip', 'mtu'] });
    assert.deepEqual(core.config, { bip: '10.1.0.1/24', mtu: 1400, 'dns-search': ['example.com'], 'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }] });
    assert.equal(reloadLine(r), 'daemon config: reloaded dns, dns-search, default-address-pools; bip, mtu changed but need a daemon restart; still running with the old value');
    assert.equal(reloadLine({ reloaded: [], needRestart: [] }), undefined);
  });
  it('a process that only reads takes the firewall keys without touching the firewall', async () => {
    const core = { config: {} as DaemonConfig, firewall: { teardownNetwork: () => assert.fail('firewall touched') } } as unknown as Core;
    assert.deepEqual(await reloadConfig(core, { iptables: false }, { firewall: false }), { reloaded: ['iptables'], needRestart: [] });
    assert.equal(core.config.iptables, false);
  });
});
