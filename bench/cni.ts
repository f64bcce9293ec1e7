/**
 * CNI exec cost: one ADD and one DEL as processes (what a runtime pays per container), interleaved
 * in the same run for
 *   viaDaemon  tsnet-cni as installed — the exec shim — with the daemon serving its CNI socket;
 *   reference  the chain bridge + host-local + portmap from /usr/lib/cni;
 *   viaNode    the same shim told to skip the daemon (TSNET_CNI_DAEMON=0): the node plugin, as on a
 *              host where no daemon runs (which costs one failed connect() more, a few µs).
 * All do the same work: a bridge, an address, NAT (ipMasq) and one port mapping.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { bundle } from '../plugins/cni/bundle';
import { PLUGIN_NAME, placePlugin } from '../plugins/cni/install';
import { daemonPid, ensureDaemon, stopDaemon } from '../test/integration/cni/daemon';
import { haveReferencePlugins } from '../test/integration/cni/plugin';
import { type Attachment, type ConfList, execFile, REFERENCE_BIN_DIR, runList } from '../test/integration/cni/runtime';
import { summarize } from './stats';

/** One contestant: its chain (own bridge and subnet), host port, and the runtime's extra environment. */
interface Setup {
  list: ConfList;
  port: number;
  extra: Record<string, string>;
}
const NAMES = ['viaDaemon', 'reference', 'viaNode'] as const;
type Name = (typeof NAMES)[number];

function setups(dataDir: string): Record<Name, Setup> {
  const ipam = (subnet: string) => ({ type: 'host-local', subnet, routes: [{ dst: '0.0.0.0/0' }], dataDir });
  const tsnet = (name: string, bridge: string, subnet: string): ConfList => ({
    cniVersion: '1.0.0', name, plugins: [{ type: 'tsnet-cni', bridge, isGateway: true, ipMasq: true, ipam: ipam(subnet), capabilities: { portMappings: true } }],
  });
  return {
    viaDaemon: { list: tsnet('bench-tsnet', 'bench-ts0', '10.201.0.0/24'), port: 18080, extra: {} },
    reference: {
      list: {
        cniVersion: '1.0.0',
        name: 'bench-ref',
        plugins: [
          { type: 'bridge', bridge: 'bench-ref0', isGateway: true, ipMasq: true, ipam: ipam('10.202.0.0/24') },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        ],
      },
      port: 18081,
      extra: {},
    },
    viaNode: { list: tsnet('bench-tsnode', 'bench-tn0', '10.203.0.0/24'), port: 18082, extra: { TSNET_CNI_DAEMON: '0' } },
  };
}

/** One ADD and one DEL of the setup in a fresh namespace; returns their wall times. */
async function cycle(setup: Setup, dirs: string[], i: number): Promise<{ add: number; del: number }> {
  const { list, port, extra } = setup;
  const ns = `bench-${list.name}-${i}`;
  execFileSync('ip', ['netns', 'add', ns]);
  // Up, as a runtime brings it (the loopback plugin): the embedded resolver listens on it.
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const att: Attachment = { containerId: `${list.name}-${i}`, netns: `/run/netns/${ns}`, ifname: 'eth0', runtimeConfig: { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] } };
  try {
    const add = await runList(list, 'ADD', att, dirs, extra);
    if (!add.ok) throw new Error(`${list.name} ADD failed in ${add.failedPlugin}: ${JSON.stringify(add.error)}`);
    const del = await runList(list, 'DEL', att, dirs, extra);
    if (!del.ok) throw new Error(`${list.name} DEL failed in ${del.failedPlugin}: ${JSON.stringify(del.error)}`);
    return { add: add.ms, del: del.ms };
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

/** p50 of a bare node start and of tsnet-cni VERSION through the daemon and through node: the floors under each path. */
async function floors(dirs: string[], runs: number): Promise<{ nodeStart: number; versionViaDaemon: number; versionViaNode: number }> {
  const empty = path.join(dirs[0], 'empty-node');
  fs.writeFileSync(empty, `#!${process.execPath}\n`, { mode: 0o755 });
  const plugin = path.join(dirs[0], PLUGIN_NAME);
  const node: number[] = [], daemon: number[] = [], viaNode: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push((await execFile(empty, { command: 'VERSION' }, '', dirs)).ms);
    daemon.push((await execFile(plugin, { command: 'VERSION' }, '{}', dirs)).ms);
    viaNode.push((await execFile(plugin, { command: 'VERSION', extra: { TSNET_CNI_DAEMON: '0' } }, '{}', dirs)).ms);
  }
  return { nodeStart: summarize(node).p50, versionViaDaemon: summarize(daemon).p50, versionViaNode: summarize(viaNode).p50 };
}

/** p50/p95 of ADD and DEL per setup (runs each, after one warm-up that creates the networks and the code cache). */
export async function measureCni(runs = 20): Promise<object> {
  if (!haveReferencePlugins()) throw new Error('bench cni: needs the reference plugins (apt-get install containernetworking-plugins)');
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cni-bin-'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-host-local-'));
  // Never started by the shim here: the daemon's lifetime is the benchmark's.
  if (placePlugin(binDir, PLUGIN_NAME, await bundle(), { startDaemon: false }).kind !== 'shim') throw new Error('bench cni: no C compiler (cc) for the exec shim');
  const dirs = [binDir, REFERENCE_BIN_DIR];
  const started = daemonPid() === undefined;
  await ensureDaemon();
  const all = setups(dataDir);
  const samples = Object.fromEntries(NAMES.map((n) => [n, { add: [] as number[], del: [] as number[] }])) as Record<Name, { add: number[]; del: number[] }>;
  try {
    for (const name of NAMES) await cycle(all[name], dirs, -1);
    // Interleaved, so drift of the machine (caches, other load) hits all alike.
    for (let i = 0; i < runs; i++) {
      for (const name of NAMES) {
        const t = await cycle(all[name], dirs, i);
        samples[name].add.push(t.add);
        samples[name].del.push(t.del);
      }
    }
    const view = (s: { add: number[]; del: number[] }) => ({ add: summarize(s.add), del: summarize(s.del) });
    const out = Object.fromEntries(NAMES.map((n) => [n, view(samples[n])])) as Record<Name, ReturnType<typeof view>>;
    const ratio = (n: Name) => Math.round((out[n].add.p50 / out.reference.add.p50) * 1000) / 1000;
    return { runs, ...out, addP50RatioToReference: { viaDaemon: ratio('viaDaemon'), viaNode: ratio('viaNode') }, floorsP50: await floors(dirs, runs) };
  } finally {
    if (started) await stopDaemon();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(binDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  measureCni(Number(process.env.TSNET_BENCH_RUNS ?? 20)).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (err) => {
      process.stderr.write(`bench cni: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
