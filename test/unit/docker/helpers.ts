/**
 * The Docker plugin's handlers over a real controller core without the kernel: a sqlite store in a
 * temp dir and the real IPAM and engine operations, with a bridge driver, host netlink and firewall
 * that record what they are asked instead of touching the kernel (and check moby-style invariants).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChangeNotifier, Core } from '../../../src/controller/core';
import { engineOps } from '../../../src/controller/engine';
import { BridgeDriver } from '../../../src/drivers/bridge';
import type { DriverCapabilities, DriverData, EndpointInterface, JoinInfo, NetworkDriver, NetworkInfo, SandboxHandle } from '../../../src/drivers/driver';
import { ConflictError, InternalError, NotFoundError } from '../../../src/errors';
import { contains } from '../../../src/kernel/addr';
import type { Firewall, FirewallEndpoint, FirewallNetwork } from '../../../src/firewall/firewall';
import { createIpam } from '../../../src/ipam/allocator';
import type { NetlinkHandle } from '../../../src/kernel/netlink';
import type { Endpoint, Network, PortBinding } from '../../../src/model';
import { openSqliteStore } from '../../../src/store/sqlite';
import { dockerPluginRoutes, handlePluginRequest, type PluginResponse } from '../../../plugins/docker/index';

/**
 * A bridge driver that records bridges and veth pairs instead of making them. Options are read by
 * the real bridge driver (its validation is pure), so the plugin is tested against the typed facts
 * and option checks the kernel driver would give.
 */
export class RecordingBridge implements NetworkDriver {
  readonly name = 'bridge';
  readonly capabilities: DriverCapabilities = { scope: 'local', needsIpam: true, dns: true, sandboxMode: 'own' };
  readonly bridges = new Map<string, Network>();
  /** Host veth name → the peer name and the namespace fd it was created "into". */
  readonly veths = new Map<string, { peer: string; nsKey: string }>();
  private next = 0;
  // validateNetwork and normalizeOptions touch neither the host nor the config.
  private readonly real = new BridgeDriver({ host: undefined as unknown as NetlinkHandle, config: {} });

  normalizeOptions(options: Record<string, string>): Record<string, string> {
    return this.real.normalizeOptions(options);
  }
  validateNetwork(net: Network): NetworkInfo {
    return this.real.validateNetwork(net);
  }
  async createNetwork(net: Network): Promise<DriverData> {
    const device = net.info.device!;
    if (this.bridges.has(device)) throw new ConflictError(`bridge ${device}: exists`);
    this.bridges.set(device, net);
    return { createdBridge: true, addedAddresses: '' };
  }
  async deleteNetwork(net: Network): Promise<void> {
    this.bridges.delete(net.info.device!);
  }
  async createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface> {
    if (!this.bridges.has(net.info.device!)) throw new NotFoundError(`bridge ${net.info.device}: does not exist`);
    const hostVeth = `veth${String(this.next++).padStart(7, '0')}`;
    this.veths.set(hostVeth, { peer: ep.ifname, nsKey: sandbox.key });
    return { hostVeth, mac: ep.mac };
  }
  async join(): Promise<JoinInfo> {
    throw new Error('engine endpoints are never joined by the driver: the engine configures the sandbox');
  }
  async leave(): Promise<void> {
    throw new Error('engine endpoints are never left by the driver: the engine moves the interface back');
  }
  async deleteEndpoint(_net: Network, ep: Endpoint): Promise<void> {
    if (ep.hostVeth) this.veths.delete(ep.hostVeth);
  }
}

const bindingKey = (p: PortBinding) => `${p.protocol}/${p.hostIp || '*'}:${p.hostPort}`;

/** The operations of the Firewall contract a test can make fail. */
export type FirewallOp = 'setupNetwork' | 'teardownNetwork' | 'publishPorts' | 'unpublishPorts';

/**
 * A firewall that records networks and published ports, refusing what the kernel one would refuse;
 * operations put in `refusing` fail as a backend whose ruleset was broken underneath would, and
 * change nothing (as moby's StubFirewaller can be told to fail).
 */
export class RecordingFirewall implements Firewall {
  readonly backend = 'nftables' as const;
  readonly networks = new Map<string, FirewallNetwork>();
  /** "tcp/*:8080" → the endpoint and container port behind it. */
  readonly ports = new Map<string, { endpointId: string; containerIp?: string; containerPort: number }>();
  /** Operations that fail until removed from the set. */
  readonly refusing = new Set<FirewallOp>();

  private check(op: FirewallOp): void {
    if (this.refusing.has(op)) throw new InternalError(`${op}: nft: Error: No such file or directory; did you mean table 'tsnet' in family inet?`);
  }

  async missing(nets: FirewallNetwork[]): Promise<FirewallNetwork[]> {
    return nets.filter((n) => !this.networks.has(n.bridge));
  }
  async setupNetwork(net: FirewallNetwork): Promise<void> {
    this.check('setupNetwork');
    this.networks.set(net.bridge, net);
  }
  async teardownNetwork(net: FirewallNetwork): Promise<void> {
    this.check('teardownNetwork');
    // As moby's StubFirewaller: a network never goes while ports still lead into it.
    const inside = [...this.ports.values()].filter((p) => p.containerIp && net.subnets.some((s) => contains(s, p.containerIp!)));
    assert.equal(inside.length, 0, `teardown of ${net.name} with ${inside.length} port(s) still published into it`);
    this.networks.delete(net.bridge);
  }
  async publishPorts(ep: FirewallEndpoint): Promise<void> {
    this.check('publishPorts');
    if (!this.networks.has(ep.bridge)) throw new NotFoundError(`no tsnet network is set up on bridge ${ep.bridge}`);
    for (const p of ep.ports) if (this.ports.has(bindingKey(p))) throw new ConflictError(`bind for ${bindingKey(p)} failed: port is already allocated`);
    for (const p of ep.ports) this.ports.set(bindingKey(p), { endpointId: ep.id, containerIp: ep.ipv4, containerPort: p.containerPort });
  }
  async unpublishPorts(ep: FirewallEndpoint): Promise<void> {
    this.check('unpublishPorts');
    for (const p of ep.ports) if (this.ports.get(bindingKey(p))?.endpointId === ep.id) this.ports.delete(bindingKey(p));
  }
}

/** Host netlink as the engine paths use it: routes for the overlap check, links for hairpin. */
function fakeHost(routes: string[]): NetlinkHandle {
  const host = {
    hairpin: [] as number[],
    // No recorded bridge is a kernel link: the overlap check keeps every route.
    getLink: async () => undefined,
    listRoutes: async (fam: 4 | 6) => routes.filter((r) => (fam === 4) === !r.includes(':')).map((dst) => ({ dst, family: fam })),
    mustGetLink: async (name: string) => ({ index: 7, name, mtu: 1500, up: true }),
    setHairpin: async (index: number) => void host.hairpin.push(index),
    close: () => undefined,
  };
  return host as unknown as NetlinkHandle;
}

/** A plugin over a throw-away core. */
export interface TestPlugin {
  core: Core;
  bridge: RecordingBridge;
  firewall: RecordingFirewall;
  /** POSTs body (JSON-encoded unless raw) to path. */
  call(path: string, body?: unknown, opts?: { raw?: string; method?: string }): Promise<PluginResponse>;
  /** Like call, but asserts success (HTTP 200, no Err) and returns the body. */
  ok(path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** Like call, but asserts a failure answered with status and an Err matching message. */
  fails(path: string, body: unknown, status: number, message: RegExp): Promise<void>;
  /** A restarted plugin: new handlers over the same state directory; the recorded "kernel" survives. */
  reopen(): Promise<TestPlugin>;
  dispose(): Promise<void>;
}

interface Parts {
  stateDir: string;
  bridge: RecordingBridge;
  firewall: RecordingFirewall;
  hostRoutes: string[];
}

/** Engine operations never change names the resolver serves (Docker runs its own DNS): a notification is a bug. */
const NO_DNS_CHANGES: ChangeNotifier = {
  networksChanged: async (ids) => assert.fail(`engine operations notified a DNS change on ${ids.join(', ')}`),
};

function open(parts: Parts): TestPlugin {
  const { stateDir, bridge, firewall } = parts;
  const core: Core = {
    local: openSqliteStore(stateDir), ipam: createIpam(), drivers: new Map<string, NetworkDriver>([['bridge', bridge]]), host: fakeHost(parts.hostRoutes),
    config: {}, stateDir, firewall, notifier: NO_DNS_CHANGES,
  };
  const routes = dockerPluginRoutes(engineOps(core, 'docker'));
  const call = (p: string, body?: unknown, o: { raw?: string; method?: string } = {}) =>
    handlePluginRequest(routes, o.method ?? 'POST', p, o.raw ?? (body === undefined ? '' : JSON.stringify(body)));
  return {
    core, bridge, firewall, call,
    async ok(p, body) {
      const res = await call(p, body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.Err, undefined, `${p}: ${String(res.body.Err)}`);
      return res.body;
    },
    async fails(p, body, status, message) {
      const res = await call(p, body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(String(res.body.Err), message);
    },
    async reopen() {
      await core.local.close();
      return open(parts);
    },
    async dispose() {
      await core.local.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Opens a plugin over a fresh store; hostRoutes are the host's routes the overlap check sees. */
export function testPlugin(opts: { hostRoutes?: string[] } = {}): TestPlugin {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-docker-'));
  return open({ stateDir, bridge: new RecordingBridge(), firewall: new RecordingFirewall(), hostRoutes: opts.hostRoutes ?? [] });
}

/** A Docker-style 64-hex id made from a short tag, so tests read well and ids stay valid. */
export function dockerId(tag: string): string {
  return Buffer.from(tag).toString('hex').padEnd(64, '0').slice(0, 64);
}
