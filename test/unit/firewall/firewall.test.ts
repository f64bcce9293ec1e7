/** KernelFirewall over an in-memory backend: validation first, conflicts, last-network teardown, sysctls. */
import { strict as assert } from 'node:assert';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../../src/errors';
import type { FastPorts, FirewallBackend, FirewallState, PortView, PublishedPort } from '../../../src/firewall/backend';
import { KernelFirewall, createFirewall, defaultBackend, type FirewallDeps } from '../../../src/firewall/firewall';
import { portRules, type RuleSet } from '../../../src/firewall/rules';
import { DUAL_EP, DUAL_NET, INTERNAL_NET, NAT_NET } from './cases';

/** Keeps bridges and ports like the kernel would; records every call. */
class MemoryBackend implements FirewallBackend {
  readonly name = 'nftables' as const;
  bridges = new Set<string>();
  ports: PublishedPort[] = [];
  calls: string[] = [];
  render(): string {
    return '';
  }
  async list(): Promise<FirewallState> {
    this.calls.push('list');
    return { base: this.bridges.size > 0, bridges: [...this.bridges], ports: [...this.ports], userRules: 0, snapshot: null };
  }
  async apply(owner: string, rules: RuleSet): Promise<void> {
    this.calls.push(`apply ${owner} base=${rules.base}`);
    rules.networks.forEach((n) => this.bridges.add(n.bridge));
    for (const p of rules.ports) if (!this.ports.some((q) => JSON.stringify(q) === JSON.stringify(strip(p)))) this.ports.push(strip(p));
  }
  async remove(owner: string, rules: RuleSet): Promise<void> {
    this.calls.push(`remove ${owner} base=${rules.base}`);
    rules.networks.forEach((n) => this.bridges.delete(n.bridge));
    this.ports = this.ports.filter((q) => !rules.ports.some((p) => JSON.stringify(q) === JSON.stringify(strip(p))));
  }
}
/** MemoryBackend with the listing-free port path: a view `complete` or not, and a publish/unpublish that can be made to fail. */
class FastMemoryBackend extends MemoryBackend {
  complete = true;
  refuse = false;
  readonly fastPorts: FastPorts = {
    viewPorts: async (bridge: string, ports: PublishedPort[]): Promise<PortView> => {
      this.calls.push('view');
      const near = this.complete ? this.ports.filter((p) => ports.some((r) => r.hostPort === p.hostPort)) : [];
      return { bridge: this.bridges.has(bridge) ? 'up' : 'down', ports: near, complete: this.complete, snapshot: null };
    },
    publish: async (owner, ports) => {
      if (this.refuse) throw new Error('batch refused');
      await this.apply(owner, { base: false, networks: [], ports });
    },
    unpublish: async (owner, ports) => {
      if (this.refuse) throw new Error('batch refused');
      await this.remove(owner, { base: false, networks: [], ports });
    },
  };
}

const strip = ({ family, hostIp, protocol, hostPort, containerIp, containerPort }: PublishedPort): PublishedPort => ({ family, hostIp, protocol, hostPort, containerIp, containerPort });

function setup(busy: string[] = [], backend = new MemoryBackend()) {
  const sysctls: string[] = [];
  const deps: FirewallDeps = {
    setSysctl: (k, v) => void sysctls.push(`${k}=${v}`),
    hostPortInUse: async (proto, ip, port) => busy.includes(`${ip}:${port}/${proto}`),
    withLock: (fn) => fn(),
  };
  return { fw: new KernelFirewall(backend, deps), backend, sysctls };
}

describe('KernelFirewall', () => {
  it('sets up the base with the first network and removes it with the last', async () => {
    const { fw, backend } = setup();
    await fw.setupNetwork(NAT_NET);
    await fw.setupNetwork(INTERNAL_NET);
    await fw.teardownNetwork(NAT_NET);
    await fw.teardownNetwork(INTERNAL_NET);
    await fw.teardownNetwork(INTERNAL_NET);
    assert.deepEqual(backend.calls.filter((c) => c !== 'list').map((c) => c.replace(/:\w+/, '')), [
      'apply network base=true', 'apply network base=true', 'remove network base=false', 'remove network base=true', 'remove network base=true',
    ]);
  });

  it('turns on forwarding after the rules, route_localnet for NAT networks, bridge-netfilter for icc=false', async () => {
    const { fw, sysctls } = setup();
    await fw.setupNetwork(NAT_NET);
    assert.deepEqual(sysctls, ['net.ipv4.ip_forward=1', 'net/ipv4/conf/br-web/route_localnet=1']);
    sysctls.length = 0;
    await fw.setupNetwork(DUAL_NET);
    assert.deepEqual(sysctls, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net/ipv4/conf/br-dual/route_localnet=1', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']);
    sysctls.length = 0;
    await fw.setupNetwork(INTERNAL_NET);
    assert.deepEqual(sysctls, ['net.ipv4.ip_forward=1']);
  });

  it('validates before touching anything', async () => {
    const { fw, backend, sysctls } = setup();
    await assert.rejects(fw.setupNetwork({ ...NAT_NET, bridge: 'br+' }), InvalidArgumentError);
    await assert.rejects(fw.setupNetwork({ ...NAT_NET, subnets: ['nope'] }), InvalidArgumentError);
    await assert.rejects(fw.publishPorts({ ...DUAL_EP, ports: [{ protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 0 }] }), /host port 0 is not in 1-65535/);
    await assert.rejects(fw.publishPorts({ ...DUAL_EP, ipv6: undefined, ports: [{ protocol: 'tcp', containerPort: 80, hostIp: '::', hostPort: 80 }] }), /has no IPv6 address/);
    assert.deepEqual(backend.calls, []);
    assert.deepEqual(sysctls, []);
  });

  it('publishes idempotently and refuses a taken host port with nothing applied', async () => {
    const { fw, backend } = setup(['0.0.0.0:9000/tcp']);
    await fw.setupNetwork(DUAL_NET);
    await fw.publishPorts(DUAL_EP);
    await fw.publishPorts(DUAL_EP);
    assert.equal(backend.ports.length, 5);
    const other = { ...DUAL_EP, id: 'ep2', ipv4: '172.19.0.3', ipv6: undefined };
    await assert.rejects(fw.publishPorts({ ...other, ports: [{ protocol: 'tcp', containerPort: 81, hostIp: '127.0.0.1', hostPort: 8080 }] }),
      (e: Error) => e instanceof ConflictError && e.message === 'bind for 127.0.0.1:8080/tcp failed: port is already allocated');
    await assert.rejects(fw.publishPorts({ ...other, ports: [{ protocol: 'tcp', containerPort: 81, hostIp: '', hostPort: 9000 }] }), /0\.0\.0\.0:9000\/tcp failed: port is already allocated/);
    // Another host address, or another protocol, is free.
    await fw.publishPorts({ ...other, ports: [{ protocol: 'tcp', containerPort: 81, hostIp: '127.0.0.2', hostPort: 8081 }, { protocol: 'udp', containerPort: 81, hostIp: '', hostPort: 8080 }] });
    assert.equal(backend.ports.length, 7);
    await fw.unpublishPorts(DUAL_EP);
    assert.equal(backend.ports.length, 2);
  });

  it('refuses to publish on a bridge with no network set up', async () => {
    const { fw } = setup();
    await assert.rejects(fw.publishPorts(DUAL_EP), NotFoundError);
  });

  it('publishes from the backend\'s small view without listing; a complete view\'s clash is final', async () => {
    const { fw, backend } = setup([], new FastMemoryBackend());
    await fw.setupNetwork(DUAL_NET);
    backend.calls.length = 0;
    await fw.publishPorts(DUAL_EP);
    assert.deepEqual(backend.calls, ['view', 'apply endpoint:ep-dual base=false']);
    backend.calls.length = 0;
    const other = { ...DUAL_EP, id: 'ep2', ipv4: '172.19.0.3', ipv6: undefined, ports: [{ protocol: 'tcp' as const, containerPort: 81, hostIp: '127.0.0.1', hostPort: 8080 }] };
    await assert.rejects(fw.publishPorts(other), /127\.0\.0\.1:8080\/tcp failed: port is already allocated/);
    assert.deepEqual(backend.calls, ['view']);
    await assert.rejects(fw.publishPorts({ ...other, bridge: 'br-none' }), NotFoundError);
  });

  it('takes the listing path when the view cannot tell a busy port from a re-publish, or the batch is refused', async () => {
    const backend = new FastMemoryBackend();
    const { fw } = setup(['0.0.0.0:8080/tcp'], backend);
    await fw.setupNetwork(DUAL_NET);
    backend.complete = false;
    const ep = { ...DUAL_EP, ports: [{ protocol: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 8080 }] };
    backend.calls.length = 0;
    await assert.rejects(fw.publishPorts(ep), ConflictError);
    assert.deepEqual(backend.calls, ['view', 'list']);
    // Published already (a host process took the port since): the listing shows it, and that is no conflict.
    backend.ports.push(...portRules(ep).map(strip));
    await fw.publishPorts(ep);
    backend.refuse = true;
    backend.calls.length = 0;
    const ep3 = { ...ep, id: 'ep3', ports: [{ protocol: 'udp' as const, containerPort: 80, hostIp: '', hostPort: 7070 }] };
    await fw.publishPorts(ep3);
    assert.deepEqual(backend.calls, ['view', 'list', 'apply endpoint:ep3 base=false']);
    backend.calls.length = 0;
    await fw.unpublishPorts(ep3);
    assert.deepEqual(backend.calls, ['list', 'remove endpoint:ep3 base=false']);
  });

  it('createFirewall picks the backend asked for, else what the host has', () => {
    assert.equal(createFirewall({ backend: 'iptables' }).backend, 'iptables');
    assert.equal(createFirewall({ backend: 'nftables' }).backend, 'nftables');
    assert.ok(['iptables', 'nftables'].includes(defaultBackend()));
    assert.throws(() => createFirewall({ backend: 'pf' as 'iptables' }), InvalidArgumentError);
  });
});
