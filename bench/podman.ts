/**
 * `podman run --rm --network NET IMAGE true` wall time on podman's netavark backend, alternating in
 * the same run between tsnet-netavark (installed as `netavark`) and Debian's netavark 1.4 with
 * aardvark-dns: each run is one setup and one teardown on a DNS-enabled bridge network that is made
 * for the container and removed with it (the network's only container), plus podman's own work.
 */
import { createPodmanHost, type PodmanHost } from '../test/integration/runtimes/podman-netavark-harness';
import { summarize, timeMs } from './stats';

/** Median, p95 and samples of both backends, and tsnet's median over netavark's. */
export async function measurePodman(runs = Number(process.env.TSNET_BENCH_PODMAN_RUNS ?? 21)): Promise<Record<string, unknown>> {
  const tag = `b${process.pid.toString(36)}`;
  const hosts: Record<'tsnet' | 'netavark', PodmanHost | undefined> = { tsnet: undefined, netavark: undefined };
  try {
    hosts.tsnet = await createPodmanHost({ backend: 'tsnet', tag });
    hosts.netavark = await createPodmanHost({ backend: 'netavark', tag });
    // Distinct names and subnets: both hosts share podman's IPAM database in /run/containers/networks.
    await hosts.tsnet.podman(['network', 'create', '--subnet', '10.89.201.0/24', `bt-${tag}`]);
    await hosts.netavark.podman(['network', 'create', '--subnet', '10.89.202.0/24', `bn-${tag}`]);
    const once = (h: PodmanHost, net: string) => timeMs(() => h.run(['--rm', '--network', net, h.image, 'true']));
    const samples: Record<'tsnet' | 'netavark', number[]> = { tsnet: [], netavark: [] };
    // Two warm-up runs each: the first tsnet run starts the resolver daemon, the first of each fills caches.
    for (let i = 0; i < 2; i++) {
      await once(hosts.tsnet, `bt-${tag}`);
      await once(hosts.netavark, `bn-${tag}`);
    }
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, so neither always runs on a machine the other just warmed.
      const order: ('tsnet' | 'netavark')[] = i % 2 ? ['netavark', 'tsnet'] : ['tsnet', 'netavark'];
      for (const b of order) samples[b].push(await once(hosts[b]!, b === 'tsnet' ? `bt-${tag}` : `bn-${tag}`));
    }
    const tsnet = summarize(samples.tsnet);
    const netavark = summarize(samples.netavark);
    return {
      what: 'podman run --rm --network NET busybox true, wall ms (one setup + one teardown per run)',
      runs, tsnetNetavark: tsnet, netavark14: netavark, ratioP50: Math.round((tsnet.p50 / netavark.p50) * 100) / 100,
    };
  } finally {
    await hosts.tsnet?.close();
    await hosts.netavark?.close();
  }
}
