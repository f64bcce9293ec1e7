import { strict as assert } from 'node:assert';
import { dnsOverrides, servesDns } from '../../../src/controller/sandbox-files';
import { createDrivers, predefinedNetworks } from '../../../src/drivers/registry';
import type { NetlinkHandle } from '../../../src/kernel/netlink';
import type { Network, NetworkSpec, Sandbox } from '../../../src/model';

const sb = (dns: Sandbox['dns']): Sandbox => ({ id: 'f'.repeat(64), name: 'web', hostname: 'web', mode: 'own', key: '', dns, extraHosts: [], exposed: [], created: '' });

// The drivers' validateNetwork and upgrade are pure: no host is needed to learn a network's facts.
const drivers = createDrivers({ host: undefined as unknown as NetlinkHandle, config: {} });

/** A network record as the controller writes it, its typed facts decided by its driver. */
function recorded(spec: NetworkSpec, id: string): Network {
  const driver = drivers.get(spec.driver ?? 'bridge')!;
  const options = driver.normalizeOptions?.(spec.options ?? {}) ?? spec.options ?? {};
  const net: Network = {
    id, name: spec.name, driver: driver.name, scope: 'local', created: '', ipv6: false, internal: false, options, labels: {}, ipam: [],
    info: { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {} }, driverData: {},
  };
  return { ...net, info: driver.validateNetwork(net) };
}

/** The same network as a release before typed facts recorded it: options and `driverState` only. */
function legacy(net: Network): Network {
  const { info: _info, driverData: _data, ...rest } = net;
  return { ...rest, driverState: net.info.device ? { bridge: net.info.device } : {} } as unknown as Network;
}

describe('sandbox files', () => {
  it("takes the sandbox's DNS settings, each falling back to the daemon config", () => {
    const config = { dns: ['192.0.2.7'], 'dns-search': ['d.example'], 'dns-opts': ['rotate'] };
    assert.deepEqual(dnsOverrides(sb({ servers: [], search: [], options: [] }), config), { servers: ['192.0.2.7'], search: ['d.example'], options: ['rotate'] });
    assert.deepEqual(dnsOverrides(sb({ servers: ['192.0.2.9'], search: [], options: ['ndots:2'] }), config), { servers: ['192.0.2.9'], search: ['d.example'], options: ['ndots:2'] });
    assert.deepEqual(dnsOverrides(sb({ servers: [], search: [], options: [] }), {}), { servers: [], search: [], options: [] });
  });

  it('serves DNS on user-defined bridge networks only, as Docker', () => {
    const [bridge, host, none] = predefinedNetworks({}).map(({ spec }, i) => recorded(spec, String(i).repeat(64)));
    const mine = recorded({ name: 'mynet', driver: 'bridge', options: { mtu: '1400' } }, 'a'.repeat(64));
    assert.deepEqual([servesDns({ drivers }, mine), servesDns({ drivers }, bridge), servesDns({ drivers }, host), servesDns({ drivers }, none)], [true, false, false, false]);
  });

  it('decides the same for records written before typed network facts', () => {
    const bridge = recorded(predefinedNetworks({})[0].spec, '0'.repeat(64));
    const mine = recorded({ name: 'mynet', driver: 'bridge', options: { 'com.docker.network.bridge.name': 'br-mine' } }, 'b'.repeat(64));
    assert.equal(servesDns({ drivers }, legacy(mine)), true);
    assert.equal(servesDns({ drivers }, legacy(bridge)), false);
  });
});
