/**
 * Firewall benchmark for `npm run bench`: how long publishing (and unpublishing) one more port takes
 * when N ports are already published. Needs root and a private host (test/helpers/private-host.ts):
 * it creates a bridge and programs the firewall of the namespace it runs in.
 */
import { randomBytes } from 'node:crypto';
import { InternalError } from '../errors';
import { NetlinkHandle } from '../kernel/netlink';
import type { PortBinding } from '../model';
import { createFirewall, type BackendName, type Firewall, type FirewallEndpoint, type FirewallNetwork } from './firewall';

const FIRST_HOST_PORT = 20000;
const ROUNDS = 9;
/** Ports per existing endpoint: N ports are many containers' worth, as on a real host. */
const PORTS_PER_ENDPOINT = 10;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round2 = (ms: number) => Math.round(ms * 100) / 100;

/** Median ms per N of publishing one more port, and of unpublishing it again. */
export interface PortTimes {
  publish: Record<string, number>;
  unpublish: Record<string, number>;
}

/** ms (median of several rounds) to publish one more port with N already published, for each N of counts. */
export async function measurePublish(backend: BackendName, counts: number[] = [10, 100, 1000]): Promise<Record<string, number>> {
  return (await measurePorts(backend, counts)).publish;
}

/** measurePublish with the unpublish of the same port timed as well. */
export async function measurePorts(backend: BackendName, counts: number[] = [10, 100, 1000]): Promise<PortTimes> {
  // Refuse the real host: the bench creates a bridge and rewrites the firewall.
  if (!process.env.TSNET_PRIVATE_HOST) throw new InternalError('measurePublish: run under test/helpers/private-host (npm run bench)');
  if (Math.max(...counts) + ROUNDS > 40000) throw new InternalError('measurePublish: at most 40000 ports');
  const h = NetlinkHandle.open();
  const bridge = `tsb${randomBytes(4).toString('hex')}`;
  const result: PortTimes = { publish: {}, unpublish: {} };
  try {
    await h.setUp((await h.createBridge(bridge)).index);
    const fw = createFirewall({ backend });
    for (const n of counts) {
      const t = await measureOne(fw, bridge, n);
      result.publish[String(n)] = t.publish;
      result.unpublish[String(n)] = t.unpublish;
    }
  } finally {
    await h.deleteLink(bridge).catch(() => undefined);
    h.close();
  }
  return result;
}

const binding = (hostPort: number): PortBinding => ({ protocol: 'tcp', containerPort: 80, hostIp: '', hostPort });
const ip = (i: number) => `10.250.${(i >> 8) & 255}.${(i & 255) || 1}`;

async function measureOne(fw: Firewall, bridge: string, n: number): Promise<{ publish: number; unpublish: number }> {
  const net: FirewallNetwork = { id: `bench-${bridge}`, name: 'bench', bridge, subnets: ['10.250.0.0/16'], internal: false, masquerade: true, icc: true };
  const endpoint = (id: string, addr: string, ports: PortBinding[]): FirewallEndpoint => ({ id, networkId: net.id, bridge, ipv4: addr, ports });
  // The timed ports sit in the middle of the published range, so backends that index by host port
  // (iptables buckets) get the fullest index entry N allows, not an empty one past the end.
  const middle = FIRST_HOST_PORT + Math.floor(n / 2);
  const extra = Array.from({ length: ROUNDS }, (_, r) => middle + r);
  const existing = Array.from({ length: n + ROUNDS }, (_, i) => FIRST_HOST_PORT + i).filter((p) => !extra.includes(p));
  await fw.setupNetwork(net);
  try {
    for (let i = 0; i * PORTS_PER_ENDPOINT < n; i++) {
      const ports = existing.slice(i * PORTS_PER_ENDPOINT, Math.min((i + 1) * PORTS_PER_ENDPOINT, n)).map(binding);
      await fw.publishPorts(endpoint(`bench-${i}`, ip(i + 2), ports));
    }
    const publish: number[] = [];
    const unpublish: number[] = [];
    for (const [r, port] of extra.entries()) {
      const ep = endpoint(`bench-extra-${r}`, ip(60000 + r), [binding(port)]);
      let start = process.hrtime.bigint();
      await fw.publishPorts(ep);
      publish.push(Number(process.hrtime.bigint() - start) / 1e6);
      start = process.hrtime.bigint();
      await fw.unpublishPorts(ep);
      unpublish.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return { publish: round2(median(publish)), unpublish: round2(median(unpublish)) };
  } finally {
    await fw.teardownNetwork(net);
  }
}
