/**
 * CNI exec cost: one ADD and one DEL as processes (what a runtime pays per container), tsnet-cni
 * beside the reference chain bridge + host-local + portmap from /usr/lib/cni, interleaved in the
 * same run. Both do the same work: a bridge, an address, NAT (ipMasq) and one port mapping.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { binDirs, haveReferencePlugins } from '../test/integration/cni/plugin';
import { type Attachment, type ConfList, execFile, findPlugin, runList } from '../test/integration/cni/runtime';
import { summarize } from './stats';

/** The two chains, each with its own bridge and subnet. */
function chains(dataDir: string): { tsnet: ConfList; reference: ConfList } {
  const ipam = (subnet: string) => ({ type: 'host-local', subnet, routes: [{ dst: '0.0.0.0/0' }], dataDir });
  return {
    tsnet: { cniVersion: '1.0.0', name: 'bench-tsnet', plugins: [{ type: 'tsnet-cni', bridge: 'bench-ts0', isGateway: true, ipMasq: true, ipam: ipam('10.201.0.0/24'), capabilities: { portMappings: true } }] },
    reference: {
      cniVersion: '1.0.0',
      name: 'bench-ref',
      plugins: [
        { type: 'bridge', bridge: 'bench-ref0', isGateway: true, ipMasq: true, ipam: ipam('10.202.0.0/24') },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    },
  };
}

/** One ADD and one DEL of list in a fresh namespace; returns their wall times. */
async function cycle(list: ConfList, dirs: string[], i: number, hostPort: number): Promise<{ add: number; del: number }> {
  const ns = `bench-${list.name}-${i}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const att: Attachment = { containerId: `${list.name}-${i}`, netns: `/run/netns/${ns}`, ifname: 'eth0', runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] } };
  try {
    const add = await runList(list, 'ADD', att, dirs);
    if (!add.ok) throw new Error(`${list.name} ADD failed in ${add.failedPlugin}: ${JSON.stringify(add.error)}`);
    const del = await runList(list, 'DEL', att, dirs);
    if (!del.ok) throw new Error(`${list.name} DEL failed in ${del.failedPlugin}: ${JSON.stringify(del.error)}`);
    return { add: add.ms, del: del.ms };
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

/** p50 of a bare node start and of tsnet-cni VERSION (no core loaded): the floor under every tsnet-cni exec. */
async function floors(dirs: string[], runs: number): Promise<{ nodeStart: number; version: number }> {
  const empty = path.join(dirs[0], 'empty-node');
  fs.writeFileSync(empty, `#!${process.execPath}\n`, { mode: 0o755 });
  const node: number[] = [], version: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push((await execFile(empty, { command: 'VERSION' }, '', dirs)).ms);
    version.push((await execFile(findPlugin('tsnet-cni', dirs), { command: 'VERSION' }, '', dirs)).ms);
  }
  return { nodeStart: summarize(node).p50, version: summarize(version).p50 };
}

/** p50/p95 of ADD and DEL for tsnet-cni and the reference chain (runs each, after one warm-up that creates the networks). */
export async function measureCni(runs = 20): Promise<object> {
  if (!haveReferencePlugins()) throw new Error('bench cni: needs the reference plugins (apt-get install containernetworking-plugins)');
  const dirs = await binDirs();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-host-local-'));
  const { tsnet, reference } = chains(dataDir);
  const samples = { tsnet: { add: [] as number[], del: [] as number[] }, reference: { add: [] as number[], del: [] as number[] } };
  try {
    await cycle(tsnet, dirs, -1, 18080);
    await cycle(reference, dirs, -1, 18081);
    // Interleaved, so drift of the machine (caches, other load) hits both alike.
    for (let i = 0; i < runs; i++) {
      for (const [name, list, port] of [['tsnet', tsnet, 18080], ['reference', reference, 18081]] as const) {
        const t = await cycle(list, dirs, i, port);
        samples[name].add.push(t.add);
        samples[name].del.push(t.del);
      }
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const view = (s: { add: number[]; del: number[] }) => ({ add: summarize(s.add), del: summarize(s.del) });
  const out = { runs, tsnet: view(samples.tsnet), reference: view(samples.reference), addP50Ratio: 0, floorsP50: await floors(dirs, runs) };
  out.addP50Ratio = Math.round((out.tsnet.add.p50 / out.reference.add.p50) * 1000) / 1000;
  return out;
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
