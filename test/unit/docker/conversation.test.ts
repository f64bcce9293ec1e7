/** Replays a conversation dockerd 20.10 had with the plugin (fixtures/docker/conversation) and checks each answer and the state it leaves. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Endpoint, Network } from '../../../src/model';
import { testPlugin, type TestPlugin } from './helpers';

const DIR = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'docker', 'conversation');
const NET_ID = '967e7c458686bcdc91b0f0df8438835856413c09d237dff4b04b67464df26813';
const EP_ID = '8e6015e30e1c0faaaee39958faeed92cfecddfb6dd56d7257dd43fabc4cb3286';

/** The fixture steps in order, with $POOL_ID filled in once RequestPool answered. */
function steps(): { file: string; path: string; body: unknown }[] {
  return fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().map((file) => ({ file, ...JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) }));
}

const networks = async (p: TestPlugin) => (await p.core.local.list<Network>('network/')).map((e) => e.value);
const endpoints = async (p: TestPlugin) => (await p.core.local.list<Endpoint>('endpoint/')).map((e) => e.value);
const keysUnder = async (p: TestPlugin, prefix: string) => (await p.core.local.list(prefix)).map((e) => e.key);

/** What must hold after each step, by fixture file. */
const AFTER: Record<string, (p: TestPlugin, answer: Record<string, unknown>, poolId: string) => void | Promise<void>> = {
  '01-activate.json': (_p, a) => assert.deepEqual(a, { Implements: ['NetworkDriver', 'IpamDriver'] }),
  '02-network-capabilities.json': (_p, a) => assert.deepEqual(a, { Scope: 'local', ConnectivityScope: 'local' }),
  '03-ipam-capabilities.json': (_p, a) => assert.deepEqual(a, { RequiresMACAddress: false, RequiresRequestReplay: false }),
  '04-default-address-spaces.json': (_p, a) => assert.deepEqual(a, { LocalDefaultAddressSpace: 'tsnet-local', GlobalDefaultAddressSpace: 'tsnet-global' }),
  '05-request-pool.json': (_p, a) => assert.equal(a.Pool, '172.30.0.0/16'),
  '06-request-gateway.json': (_p, a) => assert.deepEqual(a, { Address: '172.30.0.1/16', Data: {} }),
  '07-create-network.json': async (p, _a, poolId) => {
    const [net] = await networks(p);
    assert.equal(net.name, `docker-${NET_ID.slice(0, 12)}`);
    assert.deepEqual(net.ipam, [{ poolId, subnet: '172.30.0.0/16', gateway: '172.30.0.1' }]);
    assert.equal(net.options['com.docker.network.driver.mtu'], '1400');
    assert.equal(net.info.device, 'br-967e7c458686');
    assert.ok(p.bridge.bridges.has('br-967e7c458686'));
    assert.ok(p.firewall.networks.has('br-967e7c458686'));
  },
  '08-request-address.json': (_p, a) => assert.equal(a.Address, '172.30.0.2/16'),
  '09-create-endpoint.json': async (p, a) => {
    assert.deepEqual(a, { Interface: { MacAddress: '02:42:ac:1e:00:02' } });
    assert.deepEqual((await endpoints(p)).map((e) => [e.id, e.ipv4, e.sandboxId]), [[EP_ID, '172.30.0.2/16', '']]);
    assert.equal(p.bridge.veths.size, 0, 'no kernel change before join');
  },
  '10-join.json': async (p, a) => {
    const [ep] = await endpoints(p);
    assert.deepEqual(a, { InterfaceName: { SrcName: ep.ifname, DstPrefix: 'eth' }, Gateway: '172.30.0.1', StaticRoutes: [], DisableGatewayService: false });
    // Both ends stay in the host: Docker moves the peer itself.
    assert.deepEqual(p.bridge.veths.get(ep.hostVeth!), { peer: ep.ifname, nsKey: '/proc/self/ns/net' });
  },
  '11-program-external-connectivity.json': async (p) => {
    assert.deepEqual([...p.firewall.ports], [['tcp/*:8080', { endpointId: EP_ID, containerIp: '172.30.0.2', containerPort: 80 }]]);
    assert.deepEqual(await keysUnder(p, 'port/'), ['port/tcp/8080/*']);
  },
  '12-endpoint-oper-info.json': async (p, a) => {
    const [ep] = await endpoints(p);
    assert.deepEqual(a, { Value: {
      'com.docker.network.endpoint.macaddress': '02:42:ac:1e:00:02',
      'com.docker.network.portmap': [{ Proto: 6, IP: '172.30.0.2', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }],
      hostVeth: ep.hostVeth, sandbox: ep.sandboxId,
    } });
  },
  '13-revoke-external-connectivity.json': async (p) => {
    assert.equal(p.firewall.ports.size, 0);
    assert.deepEqual(await keysUnder(p, 'port/'), []);
  },
  '14-leave.json': async (p) => assert.equal((await endpoints(p))[0].sandboxId, ''),
  '15-delete-endpoint.json': async (p) => {
    assert.deepEqual(await endpoints(p), []);
    assert.equal(p.bridge.veths.size, 0);
  },
  '17-release-gateway.json': async (p, _a, poolId) => {
    // Docker releases IPAM before it deletes the network: the adopted gateway stays reserved until then.
    assert.ok(await p.core.local.get(`ipam/addr/${poolId}/172.30.0.1`));
    assert.equal(await p.core.local.get(`ipam/addr/${poolId}/172.30.0.2`), undefined);
  },
  '18-release-pool.json': async (p, _a, poolId) => assert.ok(await p.core.local.get(`ipam/pool/${poolId}`), 'the network still uses the pool'),
  '19-delete-network.json': async (p) => {
    assert.deepEqual(await networks(p), []);
    assert.deepEqual(await keysUnder(p, 'ipam/'), []);
    assert.equal(p.bridge.bridges.size, 0);
    assert.equal(p.firewall.networks.size, 0);
  },
};

describe('docker plugin: a recorded dockerd conversation', () => {
  let plugin: TestPlugin;
  beforeEach(() => (plugin = testPlugin()));
  afterEach(() => plugin.dispose());

  it('answers every call and leaves nothing behind', async () => {
    let poolId = '';
    for (const step of steps()) {
      const body = JSON.parse(JSON.stringify(step.body ?? null).replaceAll('$POOL_ID', poolId));
      const answer = await plugin.ok(step.path, body);
      if (step.path === '/IpamDriver.RequestPool') poolId = String(answer.PoolID);
      await AFTER[step.file]?.(plugin, answer, poolId);
    }
    assert.ok(poolId, 'the conversation requested a pool');
  });

  it('survives the plugin restarting halfway: state is in the store', async () => {
    let poolId = '';
    const all = steps();
    const half = all.findIndex((s) => s.file.startsWith('12-'));
    for (const [i, step] of all.entries()) {
      // A new set of handlers over the same store is what a restarted plugin is.
      if (i === half) plugin = await plugin.reopen();
      const body = JSON.parse(JSON.stringify(step.body ?? null).replaceAll('$POOL_ID', poolId));
      const answer = await plugin.ok(step.path, body);
      if (step.path === '/IpamDriver.RequestPool') poolId = String(answer.PoolID);
    }
    assert.deepEqual((await networks(plugin)).map((n) => n.name), []);
  });
});
