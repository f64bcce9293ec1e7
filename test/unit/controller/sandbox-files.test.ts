import { strict as assert } from 'node:assert';
import { dnsOverrides, servesDns } from '../../../src/controller/sandbox-files';
import type { Network, Sandbox } from '../../../src/model';

const sb = (dns: Sandbox['dns']): Sandbox => ({ id: 'f'.repeat(64), name: 'web', hostname: 'web', mode: 'own', key: '', dns, extraHosts: [], exposed: [], created: '' });

describe('sandbox files', () => {
  it("takes the sandbox's DNS settings, each falling back to the daemon config", () => {
    const config = { dns: ['192.0.2.7'], 'dns-search': ['d.example'], 'dns-opts': ['rotate'] };
    assert.deepEqual(dnsOverrides(sb({ servers: [], search: [], options: [] }), config), { servers: ['192.0.2.7'], search: ['d.example'], options: ['rotate'] });
    assert.deepEqual(dnsOverrides(sb({ servers: ['192.0.2.9'], search: [], options: ['ndots:2'] }), config), { servers: ['192.0.2.9'], search: ['d.example'], options: ['ndots:2'] });
    assert.deepEqual(dnsOverrides(sb({ servers: [], search: [], options: [] }), {}), { servers: [], search: [], options: [] });
  });
  it('serves DNS on user-defined bridge networks only, as Docker', () => {
    const drivers = new Map([['bridge', { capabilities: { dns: true } }], ['host', { capabilities: { dns: false } }]]) as never;
    const net = (driver: string, options: Record<string, string> = {}) => ({ driver, options }) as Network;
    assert.equal(servesDns({ drivers }, net('bridge')), true);
    assert.equal(servesDns({ drivers }, net('bridge', { 'com.docker.network.bridge.default_bridge': 'true' })), false);
    assert.equal(servesDns({ drivers }, net('host')), false);
  });
});
