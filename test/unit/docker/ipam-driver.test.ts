/** IpamDriver calls: pools and addresses on the store-backed IPAM, released exactly as Docker asks. */
import { strict as assert } from 'node:assert';
import { testPlugin, type TestPlugin } from './helpers';

const POOL = '/IpamDriver.RequestPool';
const ADDR = '/IpamDriver.RequestAddress';
const GATEWAY = { RequestAddressType: 'com.docker.network.gateway' };

describe('docker plugin: IpamDriver', () => {
  let p: TestPlugin;
  beforeEach(() => (p = testPlugin({ hostRoutes: ['192.168.0.0/20'] })));
  afterEach(() => p.dispose());

  const pool = async (body: Record<string, unknown>) => String((await p.ok(POOL, { AddressSpace: 'tsnet-local', ...body })).PoolID);

  it('GetCapabilities and GetDefaultAddressSpaces take no body ("null" or none)', async () => {
    for (const raw of ['', 'null', '{}']) {
      assert.deepEqual((await p.call('/IpamDriver.GetCapabilities', undefined, { raw })).body, { RequiresMACAddress: false, RequiresRequestReplay: false });
      assert.equal((await p.call('/IpamDriver.GetDefaultAddressSpaces', undefined, { raw })).body.LocalDefaultAddressSpace, 'tsnet-local');
    }
  });

  it('RequestPool: the given subnet, a sub-pool, or a free default pool of either family', async () => {
    const given = await p.ok(POOL, { AddressSpace: 'tsnet-local', Pool: '10.40.0.0/16', SubPool: '10.40.8.0/24', Options: null, V6: false });
    assert.equal(given.Pool, '10.40.0.0/16');
    assert.deepEqual(given.Data, {});
    assert.equal((await p.ok(POOL, { AddressSpace: 'tsnet-local', Pool: '', SubPool: '' })).Pool, '172.17.0.0/16');
    assert.equal((await p.ok(POOL, { AddressSpace: 'tsnet-local' })).Pool, '172.18.0.0/16');
    assert.match(String((await p.ok(POOL, { AddressSpace: 'tsnet-local', V6: true })).Pool), /^fd[0-9a-f:]+\/64$/);
    // Dynamic addresses come from the sub-pool (its first address is a host of the /16); static ones from anywhere in the subnet, as Docker.
    const id = String(given.PoolID);
    assert.equal((await p.ok(ADDR, { PoolID: id, Address: '' })).Address, '10.40.8.0/16');
    assert.equal((await p.ok(ADDR, { PoolID: id, Address: '10.40.0.9' })).Address, '10.40.0.9/16');
  });

  it('RequestPool refuses overlaps with other pools and with host routes', async () => {
    await pool({ Pool: '10.40.0.0/16' });
    await p.fails(POOL, { AddressSpace: 'tsnet-local', Pool: '10.40.3.0/24' }, 200, /overlaps network "docker pool" \(10\.40\.0\.0\/16\)/);
    await p.fails(POOL, { AddressSpace: 'tsnet-local', Pool: '192.168.4.0/24' }, 200, /overlaps route 192\.168\.0\.0\/20/);
  });

  it('RequestAddress: the gateway is the first host, then the next free ones; a preferred one exactly', async () => {
    const id = await pool({ Pool: '10.41.0.0/24' });
    assert.equal((await p.ok(ADDR, { PoolID: id, Address: '', Options: GATEWAY })).Address, '10.41.0.1/24');
    assert.equal((await p.ok(ADDR, { PoolID: id })).Address, '10.41.0.2/24');
    assert.equal((await p.ok(ADDR, { PoolID: id, Address: '10.41.0.200', Options: {} })).Address, '10.41.0.200/24');
    await p.fails(ADDR, { PoolID: id, Address: '10.41.0.200' }, 200, /10\.41\.0\.200 is already in use/);
    await p.fails(ADDR, { PoolID: id, Address: '10.42.0.3' }, 200, /not in network/);
    await p.fails(ADDR, { PoolID: id, Address: '10.41.0.255' }, 200, /broadcast address/);
    await p.fails(ADDR, { PoolID: id, Address: 'ten' }, 200, /invalid address "ten"/);
    await p.fails(ADDR, { PoolID: 'nope', Address: '' }, 200, /ipam pool nope: not found/);
  });

  it('a gateway request when the first host is taken gets the next free address', async () => {
    const id = await pool({ Pool: '10.41.0.0/24' });
    await p.ok(ADDR, { PoolID: id, Address: '10.41.0.1' });
    assert.equal((await p.ok(ADDR, { PoolID: id, Options: GATEWAY })).Address, '10.41.0.2/24');
  });

  it('RequestAddress runs out with an Exhausted answer', async () => {
    const id = await pool({ Pool: '10.43.0.0/30' });
    await p.ok(ADDR, { PoolID: id, Options: GATEWAY });
    await p.ok(ADDR, { PoolID: id });
    await p.fails(ADDR, { PoolID: id }, 200, /no available IPv4 address/);
  });

  it('ReleaseAddress frees what was handed out, with or without prefix; unknown ones are a no-op', async () => {
    const id = await pool({ Pool: '10.44.0.0/24' });
    const a = String((await p.ok(ADDR, { PoolID: id, Address: '10.44.0.7' })).Address);
    await p.ok('/IpamDriver.ReleaseAddress', { PoolID: id, Address: a });
    assert.equal((await p.ok(ADDR, { PoolID: id, Address: '10.44.0.7' })).Address, '10.44.0.7/24');
    await p.ok('/IpamDriver.ReleaseAddress', { PoolID: id, Address: '10.44.0.7' });
    await p.ok('/IpamDriver.ReleaseAddress', { PoolID: id, Address: '10.44.0.99' });
    await p.ok('/IpamDriver.ReleaseAddress', { PoolID: 'gone', Address: '10.44.0.7' });
    await p.fails('/IpamDriver.ReleaseAddress', { PoolID: id, Address: 'x' }, 200, /invalid/);
  });

  it('ReleasePool frees the pool and its addresses; an unknown pool is a no-op', async () => {
    const id = await pool({ Pool: '10.45.0.0/16' });
    await p.ok(ADDR, { PoolID: id });
    await p.ok('/IpamDriver.ReleasePool', { PoolID: id });
    assert.deepEqual(await p.core.local.list('ipam/'), []);
    await p.ok('/IpamDriver.ReleasePool', { PoolID: id });
    await p.fails(ADDR, { PoolID: id }, 200, /not found/);
    assert.equal((await p.ok(POOL, { AddressSpace: 'tsnet-local', Pool: '10.45.0.0/16' })).Pool, '10.45.0.0/16', 'the subnet is free again');
  });
});
