/**
 * `npm run demo:overlay`: three hosts on this one machine — each its own network, mount, pid and UTS
 * namespace with its own `tsnet daemon`, joined by an underlay bridge with one etcd — an overlay
 * network created on one of them, a sandbox on each, reaching each other by name. Runs inside a
 * private host (the npm script wraps it), so nothing touches the machine's own network.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCluster, inOverlayNamespaces, type SimHost } from '../test/helpers/hosts';
import { startEtcd } from '../test/helpers/etcd';

const bold = (s: string) => `\n\x1b[1m== ${s}\x1b[0m`;

async function sh(h: SimHost, args: string[]): Promise<string> {
  process.stdout.write(`+ [${h.hostname}] tsnet ${args.join(' ')}\n`);
  const r = await h.tsnet(args);
  if (r.status !== 0) throw new Error(`${h.hostname}: tsnet ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

async function main(): Promise<void> {
  const started = Date.now();
  const tag = 'demo';
  console.log(bold('three hosts on an underlay bridge (10.77.0.0/24), one etcd on 10.77.0.1'));
  const cluster = await createCluster(3, { tag, clusterStore: 'etcd://10.77.0.1:1', config: { 'cluster-store-opts': { 'discovery.ttl': '5' } } });
  const etcd = await startEtcd({ listenIp: '10.77.0.1' });
  try {
    for (const h of cluster.hosts) {
      const file = path.join(h.stateDir, 'daemon.json');
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), 'cluster-store': etcd.url('demo') }));
      await h.startDaemon();
      console.log(`${h.hostname}: ${h.ip}, daemon up, joined ${etcd.url('demo')}`);
    }
    const [h1, h2, h3] = cluster.hosts;
    console.log(bold('create an overlay network on one host; every host sees it'));
    await sh(h1, ['create', '-d', 'overlay', '--subnet', '10.0.9.0/24', 'ov']);
    console.log(await sh(h3, ['ls']));
    console.log(bold('a sandbox on each host'));
    await sh(h1, ['sandbox', 'create', 'alpha', '--network', 'ov']);
    await sh(h2, ['sandbox', 'create', 'beta', '--network', 'ov']);
    await sh(h3, ['sandbox', 'create', 'gamma', '--network', 'ov']);
    console.log(bold('they reach each other by name, across hosts (VXLAN, names from the embedded DNS)'));
    await sh(h2, ['sandbox', 'exec', 'beta', '--', 'sh', '-c', 'mkdir -p /tmp/demo-beta && echo "hello from beta on h2" > /tmp/demo-beta/index.html && busybox httpd -p 80 -h /tmp/demo-beta']);
    console.log(await sh(h1, ['sandbox', 'exec', 'alpha', '--', 'busybox', 'wget', '-qO-', 'http://beta/']));
    console.log(await sh(h3, ['sandbox', 'exec', 'gamma', '--', 'busybox', 'ping', '-c', '2', 'alpha']));
    console.log(bold("what the overlay agent programmed on h1, in the network's own namespace: a permanent neighbour and FDB entry per remote endpoint"));
    console.log((await h1.run(inOverlayNamespaces('ip neigh show nud permanent'))).stdout.trim());
    console.log((await h1.run(inOverlayNamespaces("sh -c 'bridge fdb show | grep dst'"))).stdout.trim());
    console.log(JSON.stringify(JSON.parse(await sh(h2, ['inspect', 'ov']))[0].Peers, null, 2));
    console.log(bold('clean up'));
    await sh(h1, ['sandbox', 'rm', 'alpha']);
    await sh(h2, ['sandbox', 'rm', 'beta']);
    await sh(h3, ['sandbox', 'rm', 'gamma']);
    await sh(h2, ['rm', 'ov']);
    console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await cluster.destroy();
    await etcd.dispose();
  }
}

main().catch((err) => {
  console.error(`demo:overlay failed: ${(err as Error).message}`);
  process.exit(1);
});
