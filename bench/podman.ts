/**
 * `podman run --rm --network NET IMAGE true` wall time on podman's netavark backend, alternating in
 * the same run between tsnet-netavark (installed as `netavark`: the exec shim and the daemon it
 * starts, whose resolver stays up between runs) and Debian's netavark 1.4 with aardvark-dns (which
 * netavark starts with a network's first container and stops with its last); and, for scale,
 * netavark without aardvark-dns (no names served). Each run is one setup and one teardown on a
 * DNS-enabled bridge network that is made for the container and removed with it (its only
 * container), plus podman's own work.
 */
import { createPodmanHost, type PodmanHost } from '../test/helpers/podman';
import { summarize, timeMs } from './stats';

const CONTESTANTS = ['tsnet', 'netavark', 'netavarkNoDns'] as const;
type Contestant = (typeof CONTESTANTS)[number];

/** Median, p95 and samples of each contestant, and tsnet's median over netavark's (with aardvark-dns). */
export async function measurePodman(runs = Number(process.env.TSNET_BENCH_PODMAN_RUNS ?? 21)): Promise<Record<string, unknown>> {
  const tag = `b${process.pid.toString(36)}`;
  const hosts: Partial<Record<Contestant, PodmanHost>> = {};
  const nets: Record<Contestant, string> = { tsnet: `bt-${tag}`, netavark: `bn-${tag}`, netavarkNoDns: `bo-${tag}` };
  try {
    hosts.tsnet = await createPodmanHost({ backend: 'tsnet', tag });
    hosts.netavark = await createPodmanHost({ backend: 'netavark', tag });
    hosts.netavarkNoDns = await createPodmanHost({ backend: 'netavark', tag, aardvark: false });
    // Distinct names and subnets: the hosts share podman's IPAM database in /run/containers/networks.
    for (const [i, c] of CONTESTANTS.entries()) await hosts[c]!.must(['network', 'create', '--subnet', `10.89.${201 + i}.0/24`, nets[c]]);
    const once = (c: Contestant) => timeMs(() => hosts[c]!.run(['--rm', '--network', nets[c], hosts[c]!.image, 'true']));
    const samples: Record<Contestant, number[]> = { tsnet: [], netavark: [], netavarkNoDns: [] };
    // Two warm-up runs each: the first tsnet run starts the daemon, the first of each fills caches.
    for (let i = 0; i < 2; i++) for (const c of CONTESTANTS) await once(c);
    for (let i = 0; i < runs; i++) {
      // Rotate which goes first, so none always runs on a machine another just warmed.
      const order = CONTESTANTS.map((_, k) => CONTESTANTS[(i + k) % CONTESTANTS.length]);
      for (const c of order) samples[c].push(await once(c));
    }
    const s = Object.fromEntries(CONTESTANTS.map((c) => [c, summarize(samples[c])])) as Record<Contestant, ReturnType<typeof summarize>>;
    return {
      what: 'podman run --rm --network NET busybox true, wall ms (one setup + one teardown per run)',
      runs, tsnetNetavark: s.tsnet, netavark14: s.netavark, netavark14NoAardvark: s.netavarkNoDns,
      ratioP50: Math.round((s.tsnet.p50 / s.netavark.p50) * 100) / 100,
      ratioP50NoAardvark: Math.round((s.tsnet.p50 / s.netavarkNoDns.p50) * 100) / 100,
    };
  } finally {
    for (const c of CONTESTANTS) await hosts[c]?.close();
  }
}
