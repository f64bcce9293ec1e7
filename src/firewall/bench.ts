/**
 * Firewall benchmark for `npm run bench`: how long publishing one more port takes when N ports are
 * already published. Needs root and a private host (test/helpers/private-host.ts): it creates a
 * bridge and programs the firewall of the namespace it runs in.
 */
import { randomBytes } from 'node:crypto';
import { InternalError } from '../errors';
import { NetlinkHandle } from '../kernel/netlink';
import type { PortBinding } from '../model';
import { createFirewall, type BackendName, type FirewallEndpoint, type FirewallNetwork } from './firewall';

const FIRST_HOST_PORT = 20000;
const ROUNDS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ms (median of a few rounds) to publish one more port with N already published, for each N of counts. */
export async function measurePublish(backend: BackendName, counts: number[] = [10, 100, 1000]): Promise<Record<string, number>> {
  // Refuse the real host: the bench creates a bridge and rewrites the firewall.
  if (!process.env.TSNET_PRIVATE_HOST) throw new InternalError('measurePublish: run under test/helpers/private-host (npm run bench)');
  if (Math.max(...counts) + ROUNDS > 40000) throw new InternalError('measurePublish: at most 40000 ports');
  const h = NetlinkHandle.open();
  const bridge = `tsb${randomBytes(4).toString('hex')}`;
  const result: Record<string, number> = {};
  try {
    await h.setUp((await h.createBridge(bridge)).index);
    const fw = createFirewall({ backend });
    for (const n of counts) result[String(n)] = await measureOne(fw, bridge, n);
  } finally {
    await h.deleteLink(bridge).catch(() => undefined);
    h.close();
  }
  return result;
}

const ports = (from: number, n: number): PortBinding[] =>
  Array.from({ length: n }, (_, i) => ({ protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: from + i }));

async function measureOne(fw: ReturnType<typeof createFirewall>, bridge: string, n: number): Promise<number> {
  const net: FirewallNetwork = { id: `bench-${bridge}`, name: 'bench', bridge, subnets: ['10.250.0.0/16'], internal: false, masquerade: true, icc: true };
  const endpoint = (id: string, ip: string, p: PortBinding[]): FirewallEndpoint => ({ id, networkId: net.id, bridge, ipv4: ip, ports: p });
  await fw.setupNetwork(net);
  try {
    // The N existing ports go in as one batch; only the extra one is timed.
    await fw.publishPorts(endpoint('bench-base', '10.250.0.2', ports(FIRST_HOST_PORT, n)));
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const extra = endpoint(`bench-extra-${round}`, '10.250.0.3', ports(FIRST_HOST_PORT + n + round, 1));
      const start = process.hrtime.bigint();
      await fw.publishPorts(extra);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      await fw.unpublishPorts(extra);
    }
    return Math.round(median(times) * 100) / 100;
  } finally {
    await fw.teardownNetwork(net);
  }
}
