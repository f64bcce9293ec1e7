/**
 * The resolver in real namespaces: sandboxes on bridges, the server listening at 127.0.0.11:53
 * inside each, queried with dig, busybox nslookup, getent and ping; forwarding to a dnsmasq in an
 * "outside" namespace. Run under the private host (it mounts over /etc/resolv.conf there).
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boundSocketInNetns } from '../../../src/dns/listen';
import { DnsRecords } from '../../../src/dns/records';
import { DnsServer } from '../../../src/dns/server';
import { netnsPath } from '../../../src/kernel/netns';
import { startDnsmasq } from '../../helpers/dnsmasq';
import { corpus } from '../../unit/dns/packet-corpus';
import { type Topology, buildTopology, OUTSIDE_IP, SB } from './topology';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
/**
 * Runs argv in namespace ns and resolves with its stdout and exit status, never rejecting. Always
 * asynchronous: the resolver under test runs in this very process, so a blocking spawn would starve it.
 */
function inNs(ns: string, ...argv: string[]): Promise<{ out: string; status: number }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 20000 }, (err, stdout) => {
      resolve({ out: stdout ?? '', status: err ? Number((err as { code?: unknown }).code ?? 1) : 0 });
    });
  });
}
const dig = async (ns: string, ...q: string[]) => (await inNs(ns, 'dig', '+short', '+tries=1', '+time=3', '@127.0.0.11', ...q)).out.trim().split('\n').filter(Boolean);
/** dig's status and its own "Query time" (excludes starting processes, which a loaded machine makes slow). */
async function digStatus(ns: string, ...q: string[]): Promise<{ status?: string; ms: number }> {
  const { out } = await inNs(ns, 'dig', '+tries=1', '+time=5', '@127.0.0.11', ...q);
  return { status: /status: (\w+)/.exec(out)?.[1], ms: Number(/Query time: (\d+) msec/.exec(out)?.[1] ?? NaN) };
}

describe('dns: resolver inside sandbox namespaces', function () {
  this.timeout(60_000);
  let topo: Topology;
  let records: DnsRecords;
  let server: DnsServer;
  let dnsmasq: ChildProcess | undefined;
  let tmp: string;
  let resolvMounted = false;

  before(async function () {
    if (!process.env.TSNET_PRIVATE_HOST) this.skip();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-dns-it-'));
    topo = buildTopology();
    records = new DnsRecords({ hostUpstreams: [OUTSIDE_IP] });
    records.setNetwork('n1', { name: 'front' });
    records.setNetwork('n2', { name: 'back' });
    records.setNetwork('n3', { name: 'intern', internal: true });
    records.add('n1', { endpointId: 'a1', networkId: 'n1', sandboxId: SB.a, name: 'a', aliases: [], ipv4: '10.77.0.2' });
    records.add('n1', { endpointId: 'b1', networkId: 'n1', sandboxId: SB.b, name: 'b', aliases: ['api'], ipv4: '10.77.0.3', ipv6: 'fd00:77::3' });
    records.add('n2', { endpointId: 'b2', networkId: 'n2', sandboxId: SB.b, name: 'b', aliases: [], ipv4: '10.78.0.3' });
    records.add('n2', { endpointId: 'c2', networkId: 'n2', sandboxId: SB.c, name: 'c', aliases: [], ipv4: '10.78.0.2' });
    records.add('n3', { endpointId: 'd3', networkId: 'n3', sandboxId: SB.d, name: 'd', aliases: [], ipv4: '10.79.0.2' });
    records.add('n3', { endpointId: 'p3', networkId: 'n3', sandboxId: 'eeeeeeeeeeee0005', name: 'peer', aliases: [], ipv4: '10.79.0.3' });
    server = new DnsServer({ backend: records });
    for (const ns of topo.sandboxes) await server.listenInNetns(netnsPath(ns.name), ns.id);
    // getent and ping read /etc/resolv.conf: ours only inside this private mount namespace.
    fs.writeFileSync(path.join(tmp, 'resolv.conf'), 'nameserver 127.0.0.11\noptions ndots:0 timeout:2 attempts:1\n');
    execFileSync('mount', ['--bind', path.join(tmp, 'resolv.conf'), '/etc/resolv.conf']);
    resolvMounted = true;
    dnsmasq = await startDnsmasq({ ns: 'tdns-out', ip: OUTSIDE_IP, domain: 'example.test', answer: '203.0.113.7', probe: 'probe.example.test', tmp, why: () => `routes: ${ip('route')}` });
  });

  after(async () => {
    const steps: (() => unknown)[] = [
      () => dnsmasq?.kill('SIGTERM'),
      () => server?.stop(),
      () => resolvMounted && execFileSync('umount', ['/etc/resolv.conf']),
      () => topo?.remove(),
      () => tmp && fs.rmSync(tmp, { recursive: true, force: true }),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`dns integration cleanup: ${(err as Error).message}\n`);
      }
    }
  });

  it('resolves names, case-insensitively, short ids and network-scoped aliases with dig', async () => {
    assert.deepEqual(await dig('tdns-a', 'b'), ['10.77.0.3']);
    assert.deepEqual(await dig('tdns-a', 'B.'), ['10.77.0.3']);
    assert.deepEqual(await dig('tdns-a', 'bbbbbbbbbbbb'), ['10.77.0.3']);
    assert.deepEqual(await dig('tdns-a', 'api'), ['10.77.0.3']);
    assert.deepEqual(await dig('tdns-a', 'b', 'AAAA'), ['fd00:77::3']);
    assert.deepEqual(await dig('tdns-a', '+tcp', 'b'), ['10.77.0.3']);
    assert.deepEqual(await dig('tdns-a', '-x', '10.77.0.3'), ['b.front.']);
  });

  it('answers each sandbox with the address on the network it shares, and nothing across networks', async () => {
    assert.deepEqual(await dig('tdns-c', 'b'), ['10.78.0.3']);
    assert.deepEqual(await dig('tdns-c', 'api'), [], 'api is an alias on front only');
    // c is unknown to a, so it goes upstream, where dnsmasq does not know it either.
    assert.deepEqual(await dig('tdns-a', 'c'), []);
    // "-q": a bare "a" would be taken by dig for the record type A.
    assert.deepEqual(await dig('tdns-b', '-q', 'a.front'), ['10.77.0.2']);
  });

  it('serves busybox nslookup, getent and (busybox) ping by name', async () => {
    assert.match((await inNs('tdns-a', 'busybox', 'nslookup', 'b', '127.0.0.11')).out, /10\.77\.0\.3/);
    assert.match((await inNs('tdns-a', 'getent', 'ahostsv4', 'b')).out, /^10\.77\.0\.3\s/);
    assert.match((await inNs('tdns-c', 'getent', 'hosts', 'c')).out, /^10\.78\.0\.2\s+c$/m);
    assert.equal((await inNs('tdns-a', 'busybox', 'ping', '-4', '-c', '1', '-W', '2', 'b')).status, 0);
  });

  it('forwards unknown names to the outside dnsmasq over UDP and TCP', async () => {
    assert.deepEqual(await dig('tdns-a', 'www.example.test'), ['203.0.113.7']);
    assert.deepEqual(await dig('tdns-a', '+tcp', 'EXAMPLE.test'), ['203.0.113.7']);
  });

  it('never forwards for a sandbox on internal networks only', async () => {
    const { status, ms } = await digStatus('tdns-d', 'www.example.test');
    assert.equal(status, 'SERVFAIL');
    assert.ok(ms < 500, `took ${ms} ms`);
    assert.deepEqual(await dig('tdns-d', 'peer'), ['10.79.0.3']);
  });

  it('answers SERVFAIL within about 2 s when the upstreams are unreachable', async () => {
    // 100.64.54.1 is routed to the outside namespace, which blackholes it without an ICMP error.
    records.setHostUpstreams([`${OUTSIDE_IP}:5999`, '100.64.54.1']);
    try {
      const { status, ms } = await digStatus('tdns-a', 'www.example.test');
      assert.equal(status, 'SERVFAIL');
      assert.ok(ms < 2200, `took ${ms} ms`);
    } finally {
      records.setHostUpstreams([OUTSIDE_IP]);
    }
  });

  it('keeps answering inside the namespace after the hostile packet corpus', async () => {
    const fd = boundSocketInNetns(netnsPath('tdns-a'), 'udp', '127.0.0.1', 0);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind({ fd }, r));
    try {
      for (const bytes of corpus().values()) await new Promise<void>((r) => sock.send(bytes, 53, '127.0.0.11', () => r()));
    } finally {
      sock.close();
    }
    assert.deepEqual(await dig('tdns-a', 'b'), ['10.77.0.3']);
  });

  it('stops answering a sandbox once unlistened, and serves it again when listened', async () => {
    await server.unlisten(SB.a);
    assert.equal((await inNs('tdns-a', 'dig', '+tries=1', '+time=1', '@127.0.0.11', 'b')).status, 9);
    assert.deepEqual(await dig('tdns-b', '-q', 'a'), ['10.77.0.2']);
    await server.listenInNetns(netnsPath('tdns-a'), SB.a);
    assert.deepEqual(await dig('tdns-a', 'b'), ['10.77.0.3']);
  });
});
