/**
 * What macvlan and ipvlan share (libnetwork's macvlan and ipvlan drivers have the same shape): each
 * endpoint is a child of the network's parent device, born inside the sandbox under its final
 * name; no bridge, no NAT (so no -p), names served by the embedded resolver. For an engine (Docker's
 * remote driver) the child is born in the host namespace under the engine's transfer name, and the
 * engine moves it into its sandbox itself.
 */
import { ConflictError, InvalidArgumentError, TsnetError } from '../errors';
import { macFromIpv4, splitCidr } from '../kernel/addr';
import type { NetlinkHandle } from '../kernel/netlink';
import { HOST_NETNS } from '../kernel/netns';
import { log } from '../log';
import type { DriverData, Endpoint, Network, NetworkInfo } from '../model';
import { GENERIC_OPTIONS } from './generic-options';
import type { DriverCapabilities, DriverContext, EndpointInterface, JoinInfo, JoinOptions, NetworkDriver, SandboxHandle } from './driver';
import { createParent, deleteParent, type ParentData, parentClaims, type ParentSpec, parentSpec } from './parent';
import { addRoutes, gatewayOf } from './routes';

const debug = log('tsnet:drivers:lower-device');

/** One driver's settings of a network, parsed from its options. */
export interface ChildMode {
  /** Claim value on the parent: networks with different values cannot share it ('exclusive': none can). */
  claim: string;
  /** Only one endpoint may exist (macvlan passthru). */
  single: boolean;
  /** Default routes go straight out of the interface, with no gateway (ipvlan l3, l3s). */
  onLink: boolean;
}

/** The per-driver part: option keys, mode parsing, and the child's creation. */
export interface ChildKind {
  name: 'macvlan' | 'ipvlan';
  /** Option keys the driver accepts besides `parent` and the generic ones. */
  keys: string[];
  /** Parses the mode options; throws InvalidArgument naming a bad value. */
  mode(options: Record<string, string>): ChildMode;
  /** Creates the child of parentIndex called ifname inside the namespace nsFd. */
  createChild(h: NetlinkHandle, ifname: string, parentIndex: number, o: { options: Record<string, string>; nsFd: number; mac?: string }): Promise<void>;
}

/** A macvlan or ipvlan driver. */
export class LowerDeviceDriver implements NetworkDriver {
  readonly capabilities: DriverCapabilities = { scope: 'local', needsIpam: true, dns: true, sandboxMode: 'own' };

  constructor(private readonly ctx: DriverContext, private readonly kind: ChildKind) {}

  get name(): string {
    return this.kind.name;
  }

  validateNetwork(net: Network): NetworkInfo {
    const accepted = ['parent', ...this.kind.keys, ...GENERIC_OPTIONS];
    for (const key of Object.keys(net.options)) {
      if (!accepted.includes(key)) throw new InvalidArgumentError(`unknown option "${key}" for the ${this.name} driver: accepted keys are ${accepted.join(', ')}`);
    }
    const mode = this.kind.mode(net.options);
    const spec = parentSpec(net);
    return { publishes: false, dns: true, staticAddresses: true, engineEndpoints: true, claims: parentClaims(spec, mode.claim), onLinkDefaultRoute: mode.onLink || undefined };
  }

  async createNetwork(net: Network): Promise<DriverData> {
    const data: ParentData = await createParent(this.ctx.host, parentSpec(net));
    debug(`network ${net.name}: parent ${parentSpec(net).name} ${data.createdParent ? `created (${data.parentKind})` : 'existing'}`);
    return { ...data };
  }

  async deleteNetwork(net: Network): Promise<void> {
    await deleteParent(this.ctx.host, parentSpec(net), net.driverData as Partial<ParentData>);
  }

  async restore(net: Network): Promise<DriverData | undefined> {
    if (!(net.driverData as Partial<ParentData>).createdParent || (await this.isLive(net))) return undefined;
    return { ...(await createParent(this.ctx.host, parentSpec(net))) };
  }

  async isLive(net: Network): Promise<boolean> {
    return !!(await this.ctx.host.getLink(parentSpec(net).name));
  }

  async createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface> {
    const h = this.ctx.host;
    const spec: ParentSpec = parentSpec(net);
    const parent = await h.getLink(spec.name);
    if (!parent) throw new ConflictError(`network ${net.name}: parent interface ${spec.name} is gone`);
    const single = this.kind.mode(net.options).single;
    const mac = this.name === 'macvlan' && !single ? ep.mac ?? (ep.ipv4 ? macFromIpv4(splitCidr(ep.ipv4).ip) : undefined) : undefined;
    try {
      // Born inside the sandbox under its final name, as the bridge driver's veth peer.
      await this.kind.createChild(h, ep.ifname, parent.index, { options: net.options, nsFd: sandbox.nsFd, mac });
    } catch (err) {
      // The kernel refuses a second passthru child with EINVAL; the first lives in another namespace, out of sight.
      if (single && err instanceof TsnetError && /EINVAL/.test(err.message)) throw new ConflictError(`network ${net.name}: ${this.name} passthru takes one endpoint, and ${spec.name} has one`, { cause: err });
      throw err;
    }
    // An engine's endpoint: the child waits in the host for the engine to move; recording its name
    // lets deleteEndpoint remove exactly this link when the engine moved it back (or never took it).
    return sandbox.key === HOST_NETNS ? { hostVeth: ep.ifname, mac } : { mac };
  }

  async join(net: Network, ep: Endpoint, sandbox: SandboxHandle, opts: JoinOptions): Promise<JoinInfo> {
    const s = sandbox.netlink;
    const link = await s.mustGetLink(ep.ifname);
    for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) await s.addAddr(link.index, cidr);
    await s.setUp(link.index);
    const onLink = this.kind.mode(net.options).onLink;
    const gateway = onLink ? undefined : gatewayOf(net, 4);
    const gateway6 = onLink ? undefined : gatewayOf(net, 6);
    await addRoutes(s, link.index, ep, { gateway, gateway6, internal: net.internal, onLink, ...opts });
    return { ifname: ep.ifname, gateway, gateway6 };
  }

  async leave(_net: Network, ep: Endpoint, sandbox: SandboxHandle | undefined): Promise<void> {
    if (sandbox) await sandbox.netlink.deleteLink(ep.ifname);
  }

  async deleteEndpoint(_net: Network, ep: Endpoint): Promise<void> {
    // A sandbox's child lives in the sandbox: leave removed it, or the kernel did with the namespace.
    // Only an engine's endpoint records a host-side name, and only that name is ever deleted here:
    // ep.ifname alone (eth0 in a sandbox) could name one of the machine's own interfaces.
    if (!ep.hostVeth) return;
    const h = this.ctx.host;
    const link = await h.getLink(ep.hostVeth);
    // The engine kept the interface (it is in its sandbox, or went with it): nothing of it is in the host.
    if (!link) return;
    if (link.kind !== this.kind.name) throw new ConflictError(`endpoint ${ep.id}: host interface ${ep.hostVeth} is a ${link.kind ?? 'device'}, not the ${this.name} child made for it; left alone`);
    await h.deleteLink(link.index);
    debug(`endpoint ${ep.id.slice(0, 12)}: deleted ${ep.hostVeth} from the host`);
  }
}
