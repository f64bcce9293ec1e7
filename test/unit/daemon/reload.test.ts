import { strict as assert } from 'node:assert';
import type { DaemonConfig } from '../../../src/config';
import type { Core } from '../../../src/controller/core';
import { reapplyFirewall } from '../../../src/controller/network';
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

  it('a firewall swap and a repair running at once never leave the old firewall\'s rules behind', async () => {
    // One bridge network; the old firewall's rules are one flag. Its teardown removes them, then
    // waits (firewalld's unbind); its listing takes a while: a repair listing during a swap once
    // saw the rules gone and re-applied them through the old firewall (CI: a table after iptables: false).
    const net = { id: 'n1', name: 'n1', driver: 'bridge', internal: false, ipam: [{ subnet: '10.9.0.0/24' }], info: { device: 'br-n1', firewall: { masquerade: true, icc: true } } };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let present = true;
    const old = {
      missing: async (nets: unknown[]) => { await sleep(10); return present ? [] : nets; },
      setupNetwork: async () => { present = true; },
      teardownNetwork: async () => { present = false; await sleep(20); },
      publishPorts: async () => undefined,
    };
    const core = {
      config: {} as DaemonConfig, drivers: new Map(), firewall: old,
      local: { list: async (prefix: string) => (prefix === 'network/' ? [{ key: 'network/n1', value: net }] : []) },
    } as unknown as Core;
    const repair = reapplyFirewall(core);
    const reload = reloadConfig(core, { iptables: false });
    await Promise.all([repair, reload]);
    assert.equal(present, false, 'the old firewall re-applied its rules after the swap began');
    assert.notEqual(core.firewall, old);
    // A repair after the swap goes through the new (disabled) firewall: nothing comes back.
    await reapplyFirewall(core);
    assert.equal(present, false);
  });
});
