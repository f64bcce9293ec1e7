/** `npm run bench`: runs every benchmark inside the private host and prints one JSON document. */
import { Controller } from '../src/index';
import { measurePublish } from '../src/firewall/bench';
import { measureResolver } from '../src/dns/bench';
import { measureAttach } from './attach';
import { measureCli } from './cli';
import { measureCni } from './cni';
import { measureOverlayConvergence, measureOverlayThroughput } from './overlay';
import { measurePodman } from './podman';

async function main(): Promise<void> {
  const only = process.env.TSNET_BENCH?.split(',');
  const want = (name: string) => !only || only.includes(name);
  const result: Record<string, unknown> = { machine: { cpus: require('node:os').cpus().length, node: process.version }, date: new Date().toISOString() };
  // No notifier: the resolver would run in the engine's own process; the attach path itself is what is timed.
  const c = await Controller.open({ config: {} });
  try {
    if (want('attach')) {
      result.attach = [];
      // Not 10.77.0.0/16: the overlay benchmarks' underlay is 10.77.0.0/24.
      for (const n of [10, 100, 500]) (result.attach as unknown[]).push(await measureAttach(c, n, '10.88.0.0/16'));
    }
  } finally {
    await c.close();
  }
  if (want('publish')) {
    const publish: Record<string, unknown> = {};
    for (const backend of ['iptables', 'nftables'] as const) {
      const ms = await measurePublish(backend);
      publish[backend] = { ms, ratio1000to10: Math.round((ms['1000'] / ms['10']) * 100) / 100 };
    }
    result.publishOneMorePort = publish;
  }
  if (want('dns')) result.resolver = await measureResolver({ durationSec: 10, clients: 4 });
  if (want('cni')) result.cni = await measureCni();
  if (want('cli')) result.cli = await measureCli();
  if (want('overlay-convergence')) result.overlayConvergence = await measureOverlayConvergence();
  if (want('overlay-throughput')) result.overlayThroughput = await measureOverlayThroughput();
  if (want('podman-netavark')) result.podmanNetavark = await measurePodman();
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
