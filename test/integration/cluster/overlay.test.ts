/**
 * The overlay driver across three simulated hosts (test/helpers/hosts.ts), each with its own
 * namespaces, state directory and `tsnet daemon`, joined by an underlay bridge with one real etcd
 * on it: sandboxes on different hosts talk by address and by name, overlays are isolated, a host
 * killed with SIGKILL is forgotten within TTL + 2 s and rejoins, a partition longer than the TTL
 * with a compaction during it is healed by a re-list, etcd restarts, name races, and removing
 * everything leaves no device, entry, lease or key.
 */
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { createCluster, inOverlayNamespaces, type SimHost } from '../../helpers/hosts';
import { type EtcdServer, skipWithoutEtcd, startEtcd } from '../../helpers/etcd';

const TTL = 3;
/** h3's lease lives longer: a supervisor's restart of its services process must fit in it even on a loaded machine. */
const H3_TTL = 6;
const tag = `o${process.pid.toString(36).slice(-4)}`;

/** Polls check every 100 ms until it returns true or ms pass; returns the time it took. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('overlay networks across hosts (3 simulated hosts, real etcd)', function () {
  this.timeout(120000);
  let etcd: EtcdServer;
  let cluster: Awaited<ReturnType<typeof createCluster>>;
  let h1: SimHost, h2: SimHost, h3: SimHost;
  let h3Flags: string[] = [];

  const ok = async (h: SimHost, args: string[]) => {
    const r = await h.tsnet(args);
    assert.equal(r.status, 0, `${h.name}: tsnet ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const ip = async (h: SimHost, sb: string) => JSON.parse(await ok(h, ['sandbox', 'inspect', sb]))[0].NetworkSettings.Networks;
  const overlayIp = async (h: SimHost, sb: string, net: string) => (await ip(h, sb))[net].IPAddress as string;
  const ping = async (h: SimHost, sb: string, target: string) => (await h.tsnet(['sandbox', 'exec', sb, '--', 'busybox', 'ping', '-c', '1', '-W', '1', target])).status === 0;
  // The data path lives in each overlay network's own namespace on the host.
  const permanentNeighbours = async (h: SimHost) => (await h.run(inOverlayNamespaces('ip neigh show nud permanent'))).stdout;
  const fdb = async (h: SimHost) => (await h.run(inOverlayNamespaces('bridge fdb show'))).stdout;

  before(async function () {
    skipWithoutEtcd(this);
    cluster = await createCluster(3, { tag, clusterStore: 'etcd://10.77.0.1:1', config: { 'cluster-store-opts': { 'discovery.ttl': String(TTL), 'discovery.heartbeat': '1' } } });
    [h1, h2, h3] = cluster.hosts;
    etcd = await startEtcd({ listenIp: '10.77.0.1' });
    for (const h of [h1, h2]) {
      const file = path.join(h.stateDir, 'daemon.json');
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), 'cluster-store': etcd.url(tag) }));
      await h.startDaemon();
    }
    // h3 joins through the daemon's flags (Docker's names), not daemon.json; its one-shot commands see the cluster its daemon joined.
    fs.writeFileSync(path.join(h3.stateDir, 'daemon.json'), '{}');
    h3Flags = ['--cluster-store', etcd.url(tag), '--cluster-advertise', h3.ip, '--cluster-store-opt', `discovery.ttl=${H3_TTL}`, '--cluster-store-opt', 'discovery.heartbeat=1'];
    await h3.startDaemon(h3Flags);
  });
  after(async () => {
    await cluster?.destroy();
    await etcd?.dispose();
  });

  it('a network created on one host is global on every host, and sandboxes on different hosts talk by address and by name', async () => {
    await ok(h1, ['create', '-d', 'overlay', '--subnet', '10.0.9.0/24', 'ov']);
    for (const h of [h2, h3]) assert.match(await ok(h, ['ls']), /ov\s+overlay\s+global/);
    await ok(h1, ['sandbox', 'create', 's1', '--network', 'ov']);
    await ok(h2, ['sandbox', 'create', 's2', '--network', 'ov', '--alias', 'web']);
    await ok(h3, ['sandbox', 'create', 's3', '--network', 'ov']);
    const s2 = await overlayIp(h2, 's2', 'ov');
    await within(3000, 'h1 reaches s2 by address', () => ping(h1, 's1', s2));
    await within(3000, 'h3 reaches s2 by name', () => ping(h3, 's3', 's2'));
    await within(3000, 'h1 reaches s2 by alias', () => ping(h1, 's1', 'web'));
    // TCP too: a web server in s2, fetched by name from s1 on another host.
    await ok(h2, ['sandbox', 'exec', 's2', '--', 'sh', '-c', 'mkdir -p /tmp/www-s2 && echo from-s2 > /tmp/www-s2/index.html && busybox httpd -p 8080 -h /tmp/www-s2']);
    assert.equal(await ok(h1, ['sandbox', 'exec', 's1', '--', 'busybox', 'wget', '-qO-', 'http://s2:8080/']), 'from-s2');
    // Permanent entries for every remote endpoint; no learning, nothing flooded.
    assert.match(await permanentNeighbours(h1), new RegExp(`${s2.replace(/\./g, '\\.')} dev vx\\d+ lladdr`));
    const peers = JSON.parse(await ok(h1, ['inspect', 'ov']))[0].Peers as { Name: string; IP: string }[];
    assert.deepEqual(peers.map((p) => p.Name).sort(), [h1.hostname, h2.hostname, h3.hostname].sort());
  });

  it('accepts VXLAN only from cluster members', async () => {
    const guard = async () => (await h1.run(['nft', 'list', 'table', 'inet', 'tsnet_underlay'])).stdout;
    await within(6000, 'the guard lists every member', async () => {
      const text = await guard();
      return [h1, h2, h3].every((h) => text.includes(h.ip));
    });
    const dropped = async () => Number(/saddr != @members counter packets (\d+)/.exec(await guard())?.[1] ?? NaN);
    const before = await dropped();
    // The private host (10.77.0.1, on the underlay but no member) sends VXLAN-port datagrams to h1.
    const sock = dgram.createSocket('udp4');
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => sock.send(Buffer.alloc(50), 4789, h1.ip, () => r()));
    sock.close();
    await within(2000, 'non-member datagrams are dropped', async () => (await dropped()) >= before + 5);
    // Members' traffic still flows.
    assert.ok(await ping(h1, 's1', await overlayIp(h2, 's2', 'ov')));
  });

  it('two overlay networks are isolated from each other', async () => {
    await ok(h2, ['create', '-d', 'overlay', '--internal', '--subnet', '10.0.10.0/24', 'ov2']);
    await ok(h3, ['sandbox', 'create', 't3', '--network', 'ov2']);
    const t3 = await overlayIp(h3, 't3', 'ov2');
    // Internal: no way out, so no leg on the gateway bridge (s1 on a regular overlay has one).
    assert.deepEqual(Object.keys(await ip(h3, 't3')), ['ov2']);
    assert.deepEqual(Object.keys(await ip(h1, 's1')).sort(), ['ov', 'tsnet_gwbridge']);
    await within(3000, 'a sandbox of ov2 is up', async () => (await ok(h3, ['sandbox', 'ls'])).includes('t3'));
    assert.equal(await ping(h1, 's1', t3), false, 's1 (ov) must not reach t3 (ov2)');
    await ok(h3, ['sandbox', 'rm', 't3']);
    await ok(h2, ['rm', 'ov2']);
  });

  it('a host killed with SIGKILL is forgotten by the others within TTL + 2 s, and rejoins cleanly', async () => {
    const s3 = await overlayIp(h3, 's3', 'ov');
    h3.killTsnet();
    const took = await within((H3_TTL + 2) * 1000, 'h1 forgets h3', async () => !(await permanentNeighbours(h1)).includes(`${s3} `) && !(await fdb(h1)).includes(h3.ip));
    assert.ok(took <= (H3_TTL + 2) * 1000);
    // Its names went with it.
    assert.doesNotMatch((await h1.tsnet(['sandbox', 'exec', 's1', '--', 'busybox', 'nslookup', 's3', '127.0.0.11'])).stdout, new RegExp(s3.replace(/\./g, '\\.')));
    // Back: the daemon re-registers and publishes s3 again (its namespace survived: only processes died).
    await h3.startDaemon(h3Flags);
    // Rejoining is no deadline of its own: a new lease, the host record and s3 published again.
    await within(15000, 'h1 reaches s3 again', () => ping(h1, 's1', s3));
  });

  it('a partition longer than the TTL, with a compaction during it, heals through a re-list', async () => {
    const s3 = await overlayIp(h3, 's3', 'ov');
    await h3.partition(true);
    await within((H3_TTL + 2) * 1000, 'h1 forgets the partitioned h3', async () => !(await fdb(h1)).includes(h3.ip));
    // Changes the partitioned host misses, then the history it would need is compacted away.
    await ok(h2, ['sandbox', 'create', 's2b', '--network', 'ov']);
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      const rev = Number((await client.get('x').exec()).header.revision);
      await etcd.compact(rev);
    } finally {
      client.close();
    }
    await h3.partition(false);
    const s2b = await overlayIp(h2, 's2b', 'ov');
    await within((H3_TTL + 5) * 1000, 'h3 learns s2b after the partition', () => ping(h3, 's3', s2b));
    await within(5000, 'h1 reaches s3 again', () => ping(h1, 's1', s3));
    await ok(h2, ['sandbox', 'rm', 's2b']);
  });

  it('a services process killed and restarted by its supervisor within the TTL keeps the lease: peers drop nothing', async () => {
    const s3 = await overlayIp(h3, 's3', 'ov');
    const lease = fs.readFileSync(path.join(h3.stateDir, 'cluster.lease'), 'utf8');
    const pid = (await h3.run(['pgrep', '-f', '--', 'daemon --role services'])).stdout.trim().split('\n')[0];
    assert.ok(pid, 'the services process runs');
    await h3.run(['kill', '-KILL', pid]);
    // Past the TTL since the kill: nothing of h3 was dropped by h1 meanwhile, and the lease is the same.
    await new Promise((r) => setTimeout(r, (H3_TTL + 1) * 1000));
    assert.equal(fs.readFileSync(path.join(h3.stateDir, 'cluster.lease'), 'utf8'), lease);
    assert.match(await permanentNeighbours(h1), new RegExp(`${s3.replace(/\./g, '\\.')} dev vx`));
    assert.ok(await ping(h1, 's1', s3));
  });

  it('-p on an overlay sandbox publishes on its host through the gateway bridge', async () => {
    await ok(h2, ['sandbox', 'create', 'pub2', '--network', 'ov', '-p', '18080:8080']);
    await ok(h2, ['sandbox', 'exec', 'pub2', '--', 'sh', '-c', 'mkdir -p /tmp/www-pub2 && echo published > /tmp/www-pub2/index.html && busybox httpd -p 8080 -h /tmp/www-pub2']);
    // From another host, through h2's underlay address: DNAT on h2 to the sandbox's gateway-bridge leg.
    assert.equal((await h1.run(['busybox', 'wget', '-qO-', `http://${h2.ip}:18080/`])).stdout.trim(), 'published');
    await ok(h2, ['sandbox', 'rm', 'pub2']);
  });

  it('a CNI config {"type": "tsnet-cni", "network": "ov"} attaches a container to the overlay', async () => {
    const cni = path.join(__dirname, '..', '..', '..', 'plugins', 'cni', 'main.js');
    // As a runtime does with the loopback plugin: the embedded DNS listens on 127.0.0.11 there.
    await h1.run(['ip', 'netns', 'add', 'cnic1']);
    await h1.run(['ip', '-n', 'cnic1', 'link', 'set', 'lo', 'up']);
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'ov', type: 'tsnet-cni', network: 'ov', dns: true });
    const cniRun = (command: string) => h1.run(['sh', '-c', `echo '${conf}' | CNI_COMMAND=${command} CNI_CONTAINERID=cnic1-${tag} CNI_NETNS=/run/netns/cnic1 CNI_IFNAME=eth0 CNI_PATH=/nonexistent ${process.execPath} ${cni}`]);
    try {
      const add = await cniRun('ADD');
      assert.equal(add.status, 0, add.stderr + add.stdout);
      const addr = (JSON.parse(add.stdout) as { ips: { address: string }[] }).ips[0].address.split('/')[0];
      assert.match(addr, /^10\.0\.9\./);
      await within(3000, 'a sandbox on h2 reaches the CNI container', () => ping(h2, 's2', addr));
    } finally {
      assert.equal((await cniRun('DEL')).status, 0);
      await h1.run(['ip', 'netns', 'del', 'cnic1']);
    }
  });

  it('an FDB entry deleted by hand is back within 5 s', async () => {
    const s2 = await overlayIp(h2, 's2', 'ov');
    const mac = (await permanentNeighbours(h1)).split('\n').find((l) => l.startsWith(`${s2} `))!.split(' ')[4];
    const dev = (await fdb(h1)).split('\n').find((l) => l.startsWith(mac) && l.includes('dst'))!.split(' ')[2];
    await h1.run(inOverlayNamespaces(`bridge fdb del ${mac} dev ${dev} dst ${h2.ip}`));
    await within(5000, 'the agent repairs it', async () => (await fdb(h1)).includes(`${mac} dev ${dev} dst ${h2.ip}`));
  });

  it('a VNI is not handed out while a host still has devices on it; a namespace whose network is gone is collected', async () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      const devices = async () => Object.keys(await client.getAll().prefix(`${tag}/kv/devices/vni/`).strings()).map((k) => k.slice(`${tag}/kv/devices/vni/`.length));
      await within(5000, 'h2 records its devices', async () => (await devices()).some((k) => k.endsWith(`/${h2.hostname}`)));
      // The lowest VNI nobody holds, marked as still having a device on a host that is away.
      const held = new Set(Object.keys(await client.getAll().prefix(`${tag}/kv/ids/vni/`).strings()).map((k) => Number(k.split('/').pop())));
      let free = 4096;
      while (held.has(free)) free++;
      await client.put(`${tag}/kv/devices/vni/${free}/away-host`).value('{"host":"away-host"}');
      try {
        const asked = await h1.tsnet(['create', '-d', 'overlay', '-o', `com.docker.network.driver.overlay.vxlanid_list=${free}`, 'vni-busy']);
        assert.equal(asked.status, 4, asked.stderr);
        assert.match(asked.stderr, new RegExp(`vni ${free} is still in use: host\\(s\\) away-host have devices on it`));
        await ok(h1, ['create', '-d', 'overlay', 'vni-next']);
        const mine = Object.entries(await client.getAll().prefix(`${tag}/kv/ids/vni/`).strings()).map(([k]) => Number(k.split('/').pop())).filter((id) => !held.has(id));
        assert.equal(mine.length, 1);
        assert.ok(mine[0] > free, `vni-next got VNI ${mine[0]}, which a host still has devices on`);
        await ok(h1, ['rm', 'vni-next']);
      } finally {
        await client.delete().key(`${tag}/kv/devices/vni/${free}/away-host`);
      }
      // A leftover namespace of a network that no longer exists (made by hand here, with a VXLAN device in it).
      await h1.run(['sh', '-c', `set -e; ip netns add tsnet-ov-0123456789ab; ip link add vx16000000 type vxlan id 16000000 dstport 4789 local ${h1.ip}; ip link set vx16000000 netns tsnet-ov-0123456789ab`]);
      await within(5000, 'the agent collects it', async () => !(await h1.run(['ip', 'netns', 'list'])).stdout.includes('tsnet-ov-0123456789ab'));
      assert.ok(!(await devices()).some((k) => k.startsWith('16000000/')), 'a collected namespace holds no VNI');
    } finally {
      client.close();
    }
  });

  it('etcd restarted: traffic keeps flowing meanwhile, overlay operations fail within 5 s while it is down, then work', async () => {
    const s2 = await overlayIp(h2, 's2', 'ov');
    await etcd.stop();
    assert.ok(await ping(h1, 's1', s2), 'existing traffic flows without etcd');
    const t0 = Date.now();
    const r = await h1.tsnet(['create', '-d', 'overlay', '--subnet', '10.0.11.0/24', 'ov3']);
    assert.notEqual(r.status, 0);
    assert.ok(Date.now() - t0 < 5000 + 1500, `failed after ${Date.now() - t0} ms`);
    assert.match(r.stderr, /10\.77\.0\.1/);
    assert.match(await ok(h1, ['ls']), /bridge\s+bridge\s+local/);
    await etcd.restart();
    await ok(h1, ['create', '-d', 'overlay', '--subnet', '10.0.11.0/24', 'ov3']);
    await ok(h1, ['rm', 'ov3']);
  });

  it('a global network may not take a name or subnet of a local network on any member, nor a local one those of a global', async () => {
    await ok(h2, ['create', '--subnet', '10.0.50.0/24', 'only-on-h2']);
    await within(3000, "h2's local networks are published", async () => {
      const r = await h1.tsnet(['create', '-d', 'overlay', '--subnet', '10.0.50.0/24', 'clash']);
      return r.status === 4 && new RegExp(`overlaps network "only-on-h2" \\(10\\.0\\.50\\.0/24\\) on host ${h2.hostname}`).test(r.stderr);
    });
    const named = await h3.tsnet(['create', '-d', 'overlay', 'only-on-h2']);
    assert.equal(named.status, 4);
    assert.match(named.stderr, new RegExp(`already exists on host ${h2.hostname}`));
    const local = await h1.tsnet(['create', '--subnet', '10.0.9.128/25', 'inside-ov']);
    assert.equal(local.status, 4);
    assert.match(local.stderr, /overlaps network "ov"/);
    await ok(h2, ['rm', 'only-on-h2']);
  });

  it('two hosts racing to create one name: one wins, the other gets a conflict', async () => {
    const [a, b] = await Promise.all([h1.tsnet(['create', '-d', 'overlay', 'race']), h2.tsnet(['create', '-d', 'overlay', 'race'])]);
    assert.deepEqual([a.status, b.status].sort(), [0, 4]);
    assert.match((a.status ? a : b).stderr, /already exists/);
    await ok(h3, ['rm', 'race']);
  });

  it('a host back after its lease expired never duplicates an address another host took meanwhile', async () => {
    const s3 = await overlayIp(h3, 's3', 'ov');
    await h3.partition(true);
    // h3's lease expires: its reservation of s3's address goes with it, and h1 may take the address.
    await within((H3_TTL + 3) * 1000, "h3's address is free", async () => (await h1.tsnet(['sandbox', 'create', 'thief', '--network', 'ov', '--ip', s3])).status === 0);
    await h3.partition(false);
    // h3 re-publishes what it owns, finds s3's address taken, and drops that endpoint instead of duplicating it.
    try {
      await within(15000, 's3 leaves ov on h3', async () => !Object.keys(await ip(h3, 's3')).includes('ov'));
    } catch (err) {
      await ok(h1, ['sandbox', 'rm', 'thief']);
      throw err;
    }
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      const eps = Object.values(await client.getAll().prefix(`${tag}/kv/endpoint/`).json()) as { ipv4?: string }[];
      const holders = eps.filter((e) => e.ipv4?.startsWith(`${s3}/`));
      assert.equal(holders.length, 1, `endpoints holding ${s3}: ${JSON.stringify(holders)}`);
    } finally {
      client.close();
    }
    try {
      assert.equal(await overlayIp(h1, 'thief', 'ov'), s3);
    } finally {
      await ok(h1, ['sandbox', 'rm', 'thief']);
    }
  });

  it('removing everything leaves no device, entry, lease or key', async () => {
    for (const [h, sb] of [[h1, 's1'], [h2, 's2'], [h3, 's3']] as const) await ok(h, ['sandbox', 'rm', sb]);
    await ok(h2, ['rm', 'ov']);
    for (const h of cluster.hosts) {
      const links = (await h.run(['ip', '-o', 'link'])).stdout;
      assert.doesNotMatch(links, /\b(ov|vx)\d+\b/, `${h.name} still has overlay devices`);
      assert.doesNotMatch((await h.run(['ip', 'netns', 'list'])).stdout, /tsnet-ov-/, `${h.name} still has an overlay namespace`);
    }
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      // Only the live hosts' membership records stay (bound to their leases).
      const left = Object.keys(await client.getAll().prefix(`${tag}/`).strings());
      assert.deepEqual(left.filter((k) => /\/(network|network-name|endpoint|ipam|ids)\//.test(k)), []);
      // Each host's agent withdraws its device records with its devices (within a repair pass).
      await within(5000, 'no host still records devices', async () => !Object.keys(await client.getAll().prefix(`${tag}/kv/devices/`).strings()).length);
    } finally {
      client.close();
    }
  });
});
