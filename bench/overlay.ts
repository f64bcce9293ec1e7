/**
 * Overlay benchmarks on simulated hosts (test/helpers/hosts.ts) with one real etcd:
 *   overlay-convergence  how long after `tsnet sandbox create` starts on host A a sandbox on host B
 *                        can ping the new endpoint by address and resolve its name, with ~50
 *                        endpoints on A (the probe is bench/overlay-poller.ts, one long-lived
 *                        process in B's sandbox);
 *   overlay-throughput   iperf3 TCP between a sandbox on A and one on B over the overlay, beside the
 *                        same data path made by hand with iproute2 (veth → bridge → VXLAN, learning
 *                        off, static FDB and neighbour entries) on two bare hosts with no firewall
 *                        rules, and on the tsnet hosts themselves; runs interleaved.
 * Everything lives in the private host the bench runs in, and is destroyed in `finally`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Etcd3 } from 'etcd3';
import { createCluster, inOverlayNamespaces, type SimHost } from '../test/helpers/hosts';
import { type EtcdServer, startEtcd } from '../test/helpers/etcd';
import { summarize } from './stats';

/** The overlay subnet both benchmarks use. */
const SUBNET_PREFIX = '10.0.9';
/** The hand-made overlay's subnet (only inside the hand-made namespaces). */
const HAND_PREFIX = '10.99.0';

/** Two hosts with a running daemon each, joined to one etcd; destroy() removes all of it. */
interface Bed {
  hosts: SimHost[];
  etcd: EtcdServer;
  destroy(): Promise<void>;
}

/**
 * A cluster of n hosts in the cluster store of a fresh etcd on the underlay, with `tsnet daemon`
 * running on the first `daemons` of them (the others stay bare hosts: no tsnet state, no rules).
 */
async function startBed(tag: string, n: number, daemons = n): Promise<Bed> {
  const cluster = await createCluster(n, { tag, clusterStore: 'etcd://10.77.0.1:1' });
  let etcd: EtcdServer | undefined;
  const destroy = async () => {
    await cluster.destroy();
    await etcd?.dispose();
  };
  try {
    etcd = await startEtcd({ listenIp: '10.77.0.1' });
    for (const h of cluster.hosts.slice(0, daemons)) {
      const file = path.join(h.stateDir, 'daemon.json');
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), 'cluster-store': etcd.url(tag) }));
      await h.startDaemon();
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { hosts: cluster.hosts, etcd: etcd!, destroy };
}

/** `tsnet …` on h; throws with its stderr unless it exits 0. */
async function tsnet(h: SimHost, args: string[]): Promise<string> {
  const r = await h.tsnet(args);
  if (r.status !== 0) throw new Error(`${h.hostname}: tsnet ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** A command on h (inside its namespaces); throws unless it exits 0. */
async function run(h: SimHost, argv: string[]): Promise<string> {
  const r = await h.run(argv);
  if (r.status !== 0) throw new Error(`${h.hostname}: ${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A command run here (in the private host); resolves with its stdout, rejects on failure. */
function here(cmd: string, args: string[], timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout));
  });
}

/**
 * A network namespace of host h as a path usable from the private host: the host's /run/netns is
 * its own tmpfs, reached through its init's root. `nsenter --net=<that>` then enters the namespace
 * with no fork (no pid namespace to join), so the process started is the one we hold and can kill.
 */
const nsPath = (h: SimHost, key: string) => `/proc/${h.initPid}/root${key}`;

/** A sandbox's namespace (as nsPath gives it) and its address on network net. */
async function sandboxOf(h: SimHost, name: string, net: string): Promise<{ ns: string; ip: string }> {
  const info = JSON.parse(await tsnet(h, ['sandbox', 'inspect', name]))[0].NetworkSettings;
  return { ns: nsPath(h, info.SandboxKey as string), ip: info.Networks[net].IPAddress as string };
}

/** x rounded to `digits` decimals. */
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The machine's 1-minute load average: other work on the machine shows in every number here. */
const loadAverage = () => round(os.loadavg()[0], 2);

// ---------------------------------------------------------------------------------------------
// Convergence

/** What the poller reports for one job (hrtime in ns, as decimal strings). */
interface PollResult {
  id: number;
  ticks: number;
  dnsNs?: string;
  pingNs?: string;
  goneNs?: string;
  error?: string;
}

/** The long-lived probe process in a sandbox (bench/overlay-poller.ts) and its line protocol. */
class Poller {
  private readonly waiting = new Map<number, { armed?: () => void; done: (r: PollResult) => void }>();
  private nextId = 1;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as PollResult & { armed?: boolean };
      const w = this.waiting.get(msg.id);
      if (!w) return;
      if (msg.armed) {
        w.armed?.();
        return;
      }
      this.waiting.delete(msg.id);
      w.done(msg);
    });
    child.stderr!.on('data', (d) => (this.stderr += d));
    const fail = (why: string) => {
      for (const w of this.waiting.values()) w.done({ id: -1, ticks: 0, error: why });
      this.waiting.clear();
    };
    child.once('error', (err) => fail(`poller: ${err.message}`));
    child.once('exit', (code) => fail(`poller exited ${code}: ${this.stderr.trim()}`));
  }

  /** Starts the poller inside the namespace ns, polling every intervalMs. */
  static async start(ns: string, intervalMs: number): Promise<Poller> {
    const child = spawn('nsenter', [`--net=${ns}`, process.execPath, path.join(__dirname, 'overlay-poller.js')], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, POLL_INTERVAL_MS: String(intervalMs) },
    });
    const p = new Poller(child);
    // A first job on a name that does not exist proves the process is up and the resolver answering.
    const r = await (await p.job('gone', 'poller-ready', '192.0.2.1', 10000)).result;
    if (r.error) {
      await p.stop();
      throw new Error(`overlay poller: ${r.error}`);
    }
    return p;
  }

  /** Sends a job; resolves once the poller has started probing, with a promise of its result. */
  job(op: 'up' | 'gone', name: string, ip: string, timeoutMs: number): Promise<{ result: Promise<PollResult> }> {
    const id = this.nextId++;
    return new Promise((armedResolve) => {
      let done!: (r: PollResult) => void;
      const result = new Promise<PollResult>((r) => (done = r));
      this.waiting.set(id, { armed: () => armedResolve({ result }), done: (r) => { armedResolve({ result }); done(r); } });
      this.child.stdin!.write(JSON.stringify({ op, id, name, ip, timeoutMs }) + '\n');
    });
  }

  /** Ends the process (stdin closed), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Watches the cluster store from the bench process (on the private host, next to etcd) for the
 * moment an endpoint's record is complete — address, MAC and location, all a remote agent needs —
 * so a trial splits into "until published" (A's command) and "published until B has it" (B's
 * daemon: watch, resolver, agent).
 */
class PublishWatch {
  private readonly seen = new Map<string, bigint>();

  private constructor(private readonly client: Etcd3, private readonly watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>>) {}

  /** Starts watching the endpoints under the store prefix of tag. */
  static async start(endpoint: string, tag: string): Promise<PublishWatch> {
    const client = new Etcd3({ hosts: endpoint });
    const watcher = await client.watch().prefix(`${tag}/kv/endpoint/`).create();
    const w = new PublishWatch(client, watcher);
    watcher.on('put', (kv) => {
      const at = process.hrtime.bigint();
      const ep = JSON.parse(kv.value.toString()) as { name?: string; ipv4?: string; mac?: string; location?: unknown };
      if (ep.name && ep.ipv4 && ep.mac && ep.location && !w.seen.has(ep.name)) w.seen.set(ep.name, at);
    });
    return w;
  }

  /** When the complete record of endpoint name arrived (hrtime ns), if it did. */
  publishedAt(name: string): bigint | undefined {
    return this.seen.get(name);
  }

  /** Cancels the watch and closes the client. */
  async stop(): Promise<void> {
    await this.watcher.cancel().catch(() => undefined);
    this.client.close();
  }
}

/** Options of measureOverlayConvergence. */
export interface ConvergenceOptions {
  /** Endpoints on host A when the measured one is created (it is the last of them); default 50. */
  endpoints?: number;
  /** Measured trials; default 20. */
  trials?: number;
  /** Poll period of the probe in B's sandbox; default 10 ms. */
  intervalMs?: number;
}

/**
 * Convergence of an overlay endpoint across hosts: with endpoints − 1 sandboxes already on host A,
 * each trial creates one more on A (`tsnet sandbox create cvN --network ov --ip <fixed>`; the
 * address is fixed so the probe can ping it from the first instant) and takes the time from the
 * start of that command until B's sandbox has both an echo reply from the address and an answer
 * from 127.0.0.11 naming it; then removes it and waits until B no longer resolves it. One warm-up
 * trial is not counted.
 */
export async function measureOverlayConvergence(o: ConvergenceOptions = {}): Promise<Record<string, unknown>> {
  const endpoints = o.endpoints ?? 50, trials = o.trials ?? 20, intervalMs = o.intervalMs ?? 10;
  const loadBefore = loadAverage();
  const tag = `cv${process.pid.toString(36).slice(-3)}`;
  let bed: Bed | undefined;
  let poller: Poller | undefined;
  let published: PublishWatch | undefined;
  try {
    bed = await startBed(tag, 2);
    const [a, b] = bed.hosts;
    published = await PublishWatch.start(bed.etcd.endpoint, tag);
    await tsnet(a, ['create', '-d', 'overlay', '--subnet', `${SUBNET_PREFIX}.0/24`, 'ov']);
    // Its upstream is the private host, where nothing listens on port 53: a name the resolver does
    // not know fails at once (port unreachable) instead of waiting out the forward budget, so the
    // probe's misses cost the resolver nothing while the name does not exist yet.
    await tsnet(b, ['sandbox', 'create', 'probe', '--network', 'ov', '--dns', '10.77.0.1']);
    const probe = await sandboxOf(b, 'probe', 'ov');
    poller = await Poller.start(probe.ns, intervalMs);
    const filled = Date.now();
    for (let i = 1; i < endpoints; i++) await tsnet(a, ['sandbox', 'create', `fill${i}`, '--network', 'ov']);
    const fillMs = Date.now() - filled;

    const samples = {
      convergedMs: [] as number[], createMs: [] as number[], dnsMs: [] as number[], pingMs: [] as number[], afterCreateMs: [] as number[],
      createShare: [] as number[], publishShare: [] as number[], publishedMs: [] as number[], publishedToConvergedMs: [] as number[], goneMs: [] as number[],
    };
    for (let t = 0; t <= trials; t++) {
      const name = `cv${t}`, ip = `${SUBNET_PREFIX}.${200 + t}`;
      const { result } = await poller.job('up', name, ip, 15000);
      const t0 = process.hrtime.bigint();
      const created = await a.tsnet(['sandbox', 'create', name, '--network', 'ov', '--ip', ip]);
      const t1 = process.hrtime.bigint();
      if (created.status !== 0) throw new Error(`${a.hostname}: tsnet sandbox create ${name}: ${created.stderr.trim()}`);
      const r = await result;
      if (r.error) throw new Error(`trial ${t}: ${r.error}`);
      const ms = (ns: string | bigint) => Number(BigInt(ns) - t0) / 1e6;
      const dnsMs = ms(r.dnsNs!), pingMs = ms(r.pingNs!), createMs = ms(t1);
      const convergedMs = Math.max(dnsMs, pingMs);
      // The bench's own watch event normally lands well before B converges; allow it a moment.
      for (let i = 0; i < 100 && published.publishedAt(name) === undefined; i++) await new Promise((res) => setTimeout(res, 10));
      const pub = published.publishedAt(name);
      if (pub === undefined) throw new Error(`trial ${t}: B converged but the bench never saw ${name} published in etcd`);
      const publishedMs = ms(pub);
      const removed = process.hrtime.bigint();
      const gone = await poller.job('gone', name, ip, 15000);
      await tsnet(a, ['sandbox', 'rm', name]);
      const g = await gone.result;
      if (g.error) throw new Error(`trial ${t}: ${g.error}`);
      if (t === 0) continue; // warm-up
      samples.convergedMs.push(convergedMs);
      samples.createMs.push(createMs);
      samples.dnsMs.push(dnsMs);
      samples.pingMs.push(pingMs);
      samples.afterCreateMs.push(convergedMs - createMs);
      samples.createShare.push(createMs / convergedMs);
      samples.publishedMs.push(publishedMs);
      samples.publishShare.push(publishedMs / convergedMs);
      samples.publishedToConvergedMs.push(convergedMs - publishedMs);
      samples.goneMs.push(Number(BigInt(g.goneNs!) - removed) / 1e6);
    }
    const p95 = summarize(samples.convergedMs).p95;
    return {
      hosts: 2,
      endpointsOnA: endpoints,
      trials,
      pollIntervalMs: intervalMs,
      loadAverage1m: { before: loadBefore, after: loadAverage() },
      // Creating the endpoints − 1 sandboxes already on A, one after another.
      fillSeconds: round(fillMs / 1000, 1),
      convergedMs: summarize(samples.convergedMs),
      createCommandMs: summarize(samples.createMs),
      // createCommandMs / convergedMs per trial: above 1 when B converged before A's command returned.
      createShareOfConvergence: { p50: round(summarize(samples.createShare).p50, 3), mean: round(summarize(samples.createShare).mean, 3) },
      // publishedInEtcdMs / convergedMs: the part of convergence spent in A's command before its record reached etcd.
      publishShareOfConvergence: { p50: round(summarize(samples.publishShare).p50, 3), mean: round(summarize(samples.publishShare).mean, 3) },
      // Negative: B had it before A's command returned.
      afterCreateReturnedMs: summarize(samples.afterCreateMs),
      // From the start of A's command until its endpoint's complete record was in etcd, and from there until B could ping and resolve it.
      publishedInEtcdMs: summarize(samples.publishedMs),
      publishedToConvergedMs: summarize(samples.publishedToConvergedMs),
      resolvableOnBMs: summarize(samples.dnsMs),
      pingableFromBMs: summarize(samples.pingMs),
      removedUntilUnresolvableMs: summarize(samples.goneMs),
      targetP95Ms: 1000,
      meetsTarget: p95 <= 1000,
    };
  } finally {
    await published?.stop();
    await poller?.stop().catch(() => undefined);
    await bed?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Throughput

/** One iperf3 server, started here inside namespace ns, until stop(). */
async function iperfServer(ns: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn('nsenter', [`--net=${ns}`, 'iperf3', '-s', '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const listening = new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`iperf3 -s in ${ns}: not listening within 5 s: ${seen}`)), 5000);
    child.stdout!.on('data', (d) => {
      seen += d;
      if (/Server listening/.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d) => (seen += d));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`iperf3 -s in ${ns}: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`iperf3 -s in ${ns} exited ${code}: ${seen}`));
    });
  });
  try {
    await listening;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.stdout!.resume();
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One iperf3 TCP run from namespace ns to ip for seconds: receiver Gbit/s and the sender's retransmits. */
async function iperfRun(ns: string, ip: string, seconds: number): Promise<{ gbps: number; retransmits: number }> {
  const out = JSON.parse(await here('nsenter', [`--net=${ns}`, 'iperf3', '-c', ip, '-t', String(seconds), '-J'], (seconds + 20) * 1000));
  if (out.error) throw new Error(`iperf3 -c ${ip}: ${out.error}`);
  return { gbps: out.end.sum_received.bits_per_second / 1e9, retransmits: out.end.sum_sent.retransmits ?? 0 };
}

/** The tsnet VXLAN device on h (in its overlay network's namespace): its VNI and UDP port. */
async function tsnetVxlan(h: SimHost): Promise<{ name: string; vni: number; port: number }> {
  const links = JSON.parse(await run(h, inOverlayNamespaces('ip -j -d link show type vxlan'))) as { ifname: string; linkinfo: { info_data: { id: number; port: number } } }[];
  const vx = links.find((l) => /^vx\d+$/.test(l.ifname));
  if (!vx) throw new Error(`${h.hostname}: no tsnet VXLAN device`);
  return { name: vx.ifname, vni: vx.linkinfo.info_data.id, port: vx.linkinfo.info_data.port };
}

/** Names of the hand-made data path on one host. */
function handNames(tag: string, vni: number) {
  return { netns: `hand-${tag}`, bridge: `hbr${vni}`, vxlan: `hvx${vni}`, veth: `hve${tag}`.slice(0, 15) };
}

/**
 * The overlay data path made by hand on host h: a namespace whose eth0 is a veth into a bridge
 * with a VXLAN device (vni, port, mtu as given; local address h.ip on the underlay eth0; learning
 * off on the device and on its bridge port; ARP proxy as tsnet sets it), and the peer's permanent
 * neighbour and FDB entries. No firewall rule is written.
 */
async function buildHand(h: SimHost, peer: SimHost, names: ReturnType<typeof handNames>, o: { vni: number; port: number; mtu: number; self: number; other: number }): Promise<void> {
  const mac = (n: number) => `02:42:0a:63:00:${n.toString(16).padStart(2, '0')}`;
  const script = [
    'set -e',
    `ip netns add ${names.netns}`,
    `ip link add ${names.bridge} mtu ${o.mtu} type bridge`,
    `ip link add ${names.vxlan} mtu ${o.mtu} type vxlan id ${o.vni} local ${h.ip} dstport ${o.port} dev eth0 nolearning proxy`,
    `ip link set ${names.vxlan} master ${names.bridge}`,
    `bridge link set dev ${names.vxlan} learning off`,
    `ip link set ${names.vxlan} up`,
    `ip link set ${names.bridge} up`,
    `ip link add ${names.veth} mtu ${o.mtu} type veth peer name eth0 mtu ${o.mtu} address ${mac(o.self)} netns ${names.netns}`,
    `ip link set ${names.veth} master ${names.bridge}`,
    `ip link set ${names.veth} up`,
    `ip -n ${names.netns} link set lo up`,
    `ip -n ${names.netns} addr add ${HAND_PREFIX}.${o.self}/24 dev eth0`,
    `ip -n ${names.netns} link set eth0 up`,
    `ip neigh add ${HAND_PREFIX}.${o.other} lladdr ${mac(o.other)} dev ${names.vxlan} nud permanent`,
    `bridge fdb add ${mac(o.other)} dev ${names.vxlan} dst ${peer.ip} self permanent`,
  ].join('\n');
  await run(h, ['sh', '-c', script]);
}

/** Removes what buildHand made (whatever of it exists). */
async function removeHand(h: SimHost, names: ReturnType<typeof handNames>): Promise<void> {
  await h.run(['sh', '-c', `ip netns del ${names.netns}; ip link del ${names.veth}; ip link del ${names.vxlan}; ip link del ${names.bridge}; true`]).catch(() => undefined);
}

/** Options of measureOverlayThroughput. */
export interface ThroughputOptions {
  /** Measured runs per data path; default 9 (the median of fewer swung by ±3 % here). */
  runs?: number;
  /** Seconds per run; default 3. */
  seconds?: number;
}

/** The data paths compared, in the order each round runs them. */
const PATHS = ['tsnet', 'hand', 'handInTsnetHosts'] as const;
type PathName = (typeof PATHS)[number];

/**
 * iperf3 TCP throughput A → B through a tsnet overlay, beside the same topology made by hand with
 * iproute2 (a VNI next to tsnet's, tsnet's UDP port, the MTU read from tsnet's sandbox eth0):
 *   tsnet             sandbox on host A → sandbox on host B (hosts running `tsnet daemon`);
 *   hand              on hosts C and D, twins of A and B on the same underlay where tsnet never
 *                     ran: no firewall rule, no conntrack — the bare kernel data path;
 *   handInTsnetHosts  the hand-made devices on A and B themselves. A host's nftables hooks and
 *                     br_netfilter (bridge-nf-call-iptables=1) are per network namespace, so these
 *                     packets cross tsnet's FORWARD chain, its underlay INPUT filter and conntrack
 *                     exactly as tsnet's do: the difference to `hand` is the cost of those rules,
 *                     the difference to `tsnet` the cost of how tsnet configured its devices.
 * Runs are interleaved (tsnet, hand, handInTsnetHosts, tsnet, …) after one warm-up run each, so
 * drift of the machine hits all alike; medians in Gbit/s and the ratios to tsnet's.
 */
export async function measureOverlayThroughput(o: ThroughputOptions = {}): Promise<Record<string, unknown>> {
  const runs = o.runs ?? 9, seconds = o.seconds ?? 3;
  const loadBefore = loadAverage();
  const tag = `tp${process.pid.toString(36).slice(-3)}`;
  let bed: Bed | undefined;
  const servers: { stop(): Promise<void> }[] = [];
  const hand: { h: SimHost; names: ReturnType<typeof handNames> }[] = [];
  try {
    bed = await startBed(tag, 4, 2);
    const [a, b, c, d] = bed.hosts;
    await tsnet(a, ['create', '-d', 'overlay', '--subnet', `${SUBNET_PREFIX}.0/24`, 'ov']);
    await tsnet(a, ['sandbox', 'create', 'tpa', '--network', 'ov']);
    await tsnet(b, ['sandbox', 'create', 'tpb', '--network', 'ov']);
    const sa = await sandboxOf(a, 'tpa', 'ov'), sb = await sandboxOf(b, 'tpb', 'ov');
    const mtu = (JSON.parse(await here('nsenter', [`--net=${sa.ns}`, 'ip', '-j', 'link', 'show', 'eth0'])) as { mtu: number }[])[0].mtu;
    const vx = await tsnetVxlan(a);
    const names = handNames(tag, vx.vni + 1);
    const spec = { vni: vx.vni + 1, port: vx.port, mtu };
    for (const [h, peer, self, other] of [[a, b, 2, 3], [b, a, 3, 2], [c, d, 2, 3], [d, c, 3, 2]] as const) {
      hand.push({ h, names });
      await buildHand(h, peer, names, { ...spec, self, other });
    }
    const handNs = (h: SimHost) => nsPath(h, `/run/netns/${names.netns}`);
    servers.push(await iperfServer(sb.ns), await iperfServer(handNs(b)), await iperfServer(handNs(d)));
    const paths: Record<PathName, () => Promise<{ gbps: number; retransmits: number }>> = {
      tsnet: () => iperfRun(sa.ns, sb.ip, seconds),
      hand: () => iperfRun(handNs(c), `${HAND_PREFIX}.3`, seconds),
      handInTsnetHosts: () => iperfRun(handNs(a), `${HAND_PREFIX}.3`, seconds),
    };
    // Warm-up: ARP, the first connection, caches.
    for (const k of PATHS) await paths[k]();
    const gbps = Object.fromEntries(PATHS.map((k) => [k, [] as number[]])) as Record<PathName, number[]>;
    const retransmits = Object.fromEntries(PATHS.map((k) => [k, [] as number[]])) as Record<PathName, number[]>;
    for (let i = 0; i < runs; i++) {
      for (const k of PATHS) {
        const r = await paths[k]();
        gbps[k].push(r.gbps);
        retransmits[k].push(r.retransmits);
      }
    }
    const median = (xs: number[]) => summarize(xs).p50;
    const view = (k: PathName) => ({ median: round(median(gbps[k]), 3), runs: gbps[k].map((x) => round(x, 3)), retransmitsMedian: median(retransmits[k]) });
    const ratio = median(gbps.tsnet) / median(gbps.hand);
    return {
      runs,
      secondsPerRun: seconds,
      loadAverage1m: { before: loadBefore, after: loadAverage() },
      mtu,
      vni: { tsnet: vx.vni, hand: vx.vni + 1 },
      tsnetGbps: view('tsnet'),
      handGbps: view('hand'),
      handInTsnetHostsGbps: view('handInTsnetHosts'),
      ratioTsnetToHand: round(ratio, 3),
      ratioTsnetToHandInTsnetHosts: round(median(gbps.tsnet) / median(gbps.handInTsnetHosts), 3),
      targetRatio: 0.95,
      meetsTarget: ratio >= 0.95,
    };
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const { h, names } of hand) await removeHand(h, names);
    await bed?.destroy();
  }
}
