/** Drivers' validateNetwork: typed NetworkInfo, unknown and unsupported options refused by name, claims that conflict as the kernel does. */
import { strict as assert } from 'node:assert';
import { conflictingClaim, type NetworkDriver } from '../../../src/drivers/driver';
import { createDrivers } from '../../../src/drivers/registry';
import { parentSpec } from '../../../src/drivers/parent';
import { InvalidArgumentError, UnsupportedError } from '../../../src/errors';
import type { NetlinkHandle } from '../../../src/kernel/netlink';
import type { Network } from '../../../src/model';

// validateNetwork is pure: it never reaches the kernel, so no handle is needed.
const drivers = createDrivers({ host: {} as NetlinkHandle, config: {} });
const driver = (name: string): NetworkDriver => drivers.get(name)!;
const ID = 'ab'.repeat(32);

function network(driverName: string, options: Record<string, string>, extra: Partial<Network> = {}): Network {
  return {
    id: ID, name: 'n', driver: driverName, scope: 'local', created: '', ipv6: false, internal: false, options, labels: {}, ipam: [],
    info: { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {} }, driverData: {}, ...extra,
  };
}

describe('driver validation', () => {
  it('bridge: typed facts from Docker keys', () => {
    const info = driver('bridge').validateNetwork(network('bridge', { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.driver.mtu': '1400', 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' }));
    assert.deepEqual(info, {
      device: `br-${ID.slice(0, 12)}`, firewall: { masquerade: true, icc: false }, publishes: true, hostBindingIpv4: '127.0.0.1',
      dns: true, staticAddresses: true, engineEndpoints: true, mtu: 1400, claims: { [`dev:br-${ID.slice(0, 12)}`]: 'exclusive' }, predefined: undefined,
    });
  });

  const refused: [string, string, Record<string, string>, new (...a: never[]) => Error, RegExp][] = [
    ['bridge', 'a typo of a Docker key', { 'com.docker.network.bridge.enable_icc_typo': 'false' }, InvalidArgumentError, /unknown option "com\.docker\.network\.bridge\.enable_icc_typo" for the bridge driver/],
    ['bridge', 'a Docker key tsnet does not implement', { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' }, UnsupportedError, /option com\.docker\.network\.bridge\.gateway_mode_ipv4 is not supported/],
    ['bridge', 'the default-bridge mark on a user network', { 'com.docker.network.bridge.default_bridge': 'true' }, InvalidArgumentError, /reserved for the predefined network "bridge"/],
    ['bridge', 'a bad boolean', { 'com.docker.network.bridge.enable_icc': 'maybe' }, InvalidArgumentError, /expected true or false/],
    ['bridge', 'a bridge name too long for an interface', { 'com.docker.network.bridge.name': 'averyveryverylongbridgename' }, InvalidArgumentError, /must be 1 to 15 characters/],
    ['macvlan', 'an unknown macvlan key', { parent: 'eth0', macvlan_mod: 'bridge' }, InvalidArgumentError, /unknown option "macvlan_mod" for the macvlan driver/],
    ['macvlan', 'a bad mode', { parent: 'eth0', macvlan_mode: 'bogus' }, InvalidArgumentError, /macvlan_mode="bogus"/],
    ['ipvlan', 'a bad ipvlan mode', { parent: 'eth0', ipvlan_mode: 'l4' }, InvalidArgumentError, /ipvlan_mode="l4"/],
    ['ipvlan', 'a bad ipvlan flag', { parent: 'eth0', ipvlan_flag: 'open' }, InvalidArgumentError, /ipvlan_flag="open"/],
    ['macvlan', 'a VLAN id out of range', { parent: 'eth0.4095' }, InvalidArgumentError, /VLAN id must be 1 to 4094/],
    ['host', 'a user host network', {}, InvalidArgumentError, /only one instance of "host"/],
  ];
  for (const [name, what, options, kind, message] of refused) {
    it(`${name}: refuses ${what}, naming it`, () => {
      assert.throws(() => driver(name).validateNetwork(network(name, options)), (e: Error) => e instanceof kind && message.test(e.message));
    });
  }

  it('macvlan and ipvlan: no NAT, DNS served, static addresses, claims on the parent', () => {
    const mv = driver('macvlan').validateNetwork(network('macvlan', { parent: 'eth0' }));
    assert.deepEqual([mv.publishes, mv.dns, mv.staticAddresses, mv.firewall], [false, true, true, undefined]);
    assert.deepEqual(mv.claims, { 'parent:eth0': 'macvlan' });
    assert.deepEqual(driver('macvlan').validateNetwork(network('macvlan', { parent: 'eth0', macvlan_mode: 'passthru' })).claims, { 'parent:eth0': 'exclusive' });
    assert.deepEqual(driver('ipvlan').validateNetwork(network('ipvlan', { parent: 'eth0.50', ipvlan_mode: 'l3' })).claims, { 'parent:eth0.50': 'ipvlan-l3', 'vlan:eth0.50': 'exclusive' });
    assert.deepEqual(driver('macvlan').validateNetwork(network('macvlan', {})).claims, { [`parent:dm-${ID.slice(0, 12)}`]: 'exclusive' });
  });

  const pairs: [string, Record<string, string>, Record<string, string>, string | undefined][] = [
    ['two macvlan bridge networks share a parent', { 'parent:eth0': 'macvlan' }, { 'parent:eth0': 'macvlan' }, undefined],
    ['macvlan beside ipvlan on one parent', { 'parent:eth0': 'macvlan' }, { 'parent:eth0': 'ipvlan-l2' }, 'parent:eth0'],
    ['two ipvlan modes on one parent', { 'parent:eth0': 'ipvlan-l2' }, { 'parent:eth0': 'ipvlan-l3' }, 'parent:eth0'],
    ['passthru beside anything', { 'parent:eth0': 'exclusive' }, { 'parent:eth0': 'macvlan' }, 'parent:eth0'],
    ['passthru twice', { 'parent:eth0': 'exclusive' }, { 'parent:eth0': 'exclusive' }, 'parent:eth0'],
    ['the same parent.vlan twice', { 'parent:eth0.50': 'macvlan', 'vlan:eth0.50': 'exclusive' }, { 'parent:eth0.50': 'macvlan', 'vlan:eth0.50': 'exclusive' }, 'vlan:eth0.50'],
    ['different VLANs of one base', { 'parent:eth0.50': 'macvlan', 'vlan:eth0.50': 'exclusive' }, { 'parent:eth0.51': 'macvlan', 'vlan:eth0.51': 'exclusive' }, undefined],
    ['two bridges of one name', { 'dev:br0': 'exclusive' }, { 'dev:br0': 'exclusive' }, 'dev:br0'],
  ];
  for (const [what, a, b, conflict] of pairs) {
    it(`claims: ${what} ${conflict ? 'conflict' : 'coexist'}`, () => {
      assert.equal(conflictingClaim(a, b), conflict);
      assert.equal(conflictingClaim(b, a), conflict);
    });
  }

  it('parent: existing name, 802.1q form, or the network\'s own dummy (also for --internal)', () => {
    assert.deepEqual(parentSpec(network('macvlan', { parent: 'eth0' })), { name: 'eth0', dummy: false });
    assert.deepEqual(parentSpec(network('macvlan', { parent: 'eth0.50' })), { name: 'eth0.50', vlan: { base: 'eth0', id: 50 }, dummy: false });
    assert.deepEqual(parentSpec(network('macvlan', { parent: 'eth0' }, { internal: true })), { name: `dm-${ID.slice(0, 12)}`, dummy: true });
  });
});
