/**
 * Namespaces for the resolver integration test, made with iproute2 so the kernel layer under test is
 * not also the one building the fixture: front bridge (a, b), back bridge (b, c), d alone on an
 * internal network, and an outside namespace behind an uplink veth where dnsmasq runs.
 */
import { execFileSync } from 'node:child_process';

/** The outside namespace's address, where dnsmasq listens. */
export const OUTSIDE_IP = '100.64.53.2';
/** Sandbox ids; their first 12 hex digits are the short ids. */
export const SB = { a: 'aaaaaaaaaaaa0001', b: 'bbbbbbbbbbbb0002', c: 'cccccccccccc0003', d: 'dddddddddddd0004' };

/** The namespaces made and how to remove them. */
export interface Topology {
  sandboxes: { name: string; id: string }[];
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Builds everything, or removes what it made and throws. */
export function buildTopology(): Topology {
  const undo: (() => void)[] = [];
  const remove = () => {
    for (const step of undo.splice(0).reverse()) {
      try {
        step();
      } catch {
        // Already gone (a namespace takes its veth ends along).
      }
    }
  };
  try {
    for (const [br, cidr] of [['tdns-br0', '10.77.0.1/24'], ['tdns-br1', '10.78.0.1/24']]) {
      ip('link', 'add', br, 'type', 'bridge');
      undo.push(() => ip('link', 'del', br));
      ip('addr', 'add', cidr, 'dev', br);
      ip('link', 'set', br, 'up');
    }
    for (const ns of ['tdns-a', 'tdns-b', 'tdns-c', 'tdns-d', 'tdns-out']) {
      ip('netns', 'add', ns);
      undo.push(() => ip('netns', 'del', ns));
      // 127.0.0.11 exists only once loopback is up.
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    const veth = (ns: string, ifname: string, hostName: string, bridge: string | undefined, cidr: string) => {
      ip('link', 'add', hostName, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns);
      undo.push(() => ip('link', 'del', hostName));
      if (bridge) ip('link', 'set', hostName, 'master', bridge);
      ip('link', 'set', hostName, 'up');
      ip('-n', ns, 'addr', 'add', cidr, 'dev', ifname);
      ip('-n', ns, 'link', 'set', ifname, 'up');
    };
    veth('tdns-a', 'eth0', 'tdns-a-0', 'tdns-br0', '10.77.0.2/24');
    veth('tdns-b', 'eth0', 'tdns-b-0', 'tdns-br0', '10.77.0.3/24');
    veth('tdns-b', 'eth1', 'tdns-b-1', 'tdns-br1', '10.78.0.3/24');
    veth('tdns-c', 'eth0', 'tdns-c-1', 'tdns-br1', '10.78.0.2/24');
    veth('tdns-out', 'eth0', 'tdns-up', undefined, `${OUTSIDE_IP}/30`);
    ip('addr', 'add', '100.64.53.1/30', 'dev', 'tdns-up');
    // A black hole past the outside namespace: packets vanish without an ICMP error.
    ip('route', 'add', '100.64.54.0/24', 'via', OUTSIDE_IP);
    ip('-n', 'tdns-out', 'route', 'add', 'blackhole', '100.64.54.0/24');
  } catch (err) {
    remove();
    throw err;
  }
  return {
    sandboxes: [{ name: 'tdns-a', id: SB.a }, { name: 'tdns-b', id: SB.b }, { name: 'tdns-c', id: SB.c }, { name: 'tdns-d', id: SB.d }],
    remove,
  };
}
