/** The bridge driver: a Linux bridge per network, a veth pair per endpoint, the gateway on the bridge. */
import { ConflictError } from '../../errors';
import { macFromIpv4, splitCidr } from '../../kernel/addr';
import { log } from '../../log';
import type { Endpoint, Network } from '../../model';
import { Undo } from '../../undo';
import type { DriverCapabilities, DriverContext, DriverData, EndpointInterface, JoinInfo, JoinOptions, NetworkDriver, NetworkInfo, SandboxHandle } from '../driver';
import { addRoutes, gatewayOf } from '../routes';
import { attachVeth, hostVethName } from '../veth';
import { type BridgeConfig, DEFAULT_GATEWAY_AUX, normalizeBridgeOptions, ownBridgeName, parseBridgeOptions } from './options';

const debug = log('tsnet:drivers:bridge');

/** Gateway addresses of a network as CIDRs for the bridge (172.25.0.1/16). */
function gatewayCidrs(net: Network): string[] {
  return net.ipam.filter((p) => p.gateway).map((p) => `${p.gateway}/${splitCidr(p.subnet).prefix}`);
}

/** What the driver records about a network it set up: whether the bridge is its own, and the addresses it added. */
interface BridgeData extends DriverData {
  /** tsnet created the bridge (true) or adopted an existing one (false: never deleted). */
  createdBridge: boolean;
  /** Gateway CIDRs tsnet added to an adopted bridge (space-separated), removed with the network. */
  addedAddresses: string;
  /** An adopted bridge was down when adopted: it is set down again when the network goes. */
  adoptedDown: boolean;
}

/** The default-gateway(-v6) the daemon config gave the default bridge, from its pool's aux addresses. */
function defaultGatewayOf(net: Network, fam: 4 | 6): string | undefined {
  if (!net.info.predefined) return undefined;
  return net.ipam.find((p) => splitCidr(p.subnet).family === fam)?.auxAddresses?.[DEFAULT_GATEWAY_AUX[fam]];
}

/** The typed facts of a bridge network. */
function networkInfo(cfg: BridgeConfig): NetworkInfo {
  return {
    device: cfg.bridgeName, firewall: { masquerade: cfg.masquerade, icc: cfg.icc }, publishes: true, hostBindingIpv4: cfg.hostBindingIpv4,
    dns: !cfg.isDefault, staticAddresses: !cfg.isDefault, engineEndpoints: true, mtu: cfg.mtu,
    claims: { [`dev:${cfg.bridgeName}`]: 'exclusive' }, predefined: cfg.isDefault || undefined,
  };
}

/** The bridge driver (libnetwork drivers/bridge, netavark bridge). */
export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly capabilities: DriverCapabilities = { scope: 'local', needsIpam: true, dns: true, sandboxMode: 'own' };

  constructor(private readonly ctx: DriverContext) {}

  normalizeOptions(options: Record<string, string>): Record<string, string> {
    return normalizeBridgeOptions(options);
  }

  validateNetwork(net: Network): NetworkInfo {
    return networkInfo(parseBridgeOptions(net.id, net.options));
  }

  upgrade(legacy: Network): { info: NetworkInfo; driverData: DriverData } {
    const cfg = parseBridgeOptions(legacy.id, legacy.options, true);
    // Releases before 0.2 did not record ownership: a bridge the user named may have been the operator's, so it is never deleted.
    const data: BridgeData = { createdBridge: !cfg.named, addedAddresses: '', adoptedDown: false };
    return { info: networkInfo(cfg), driverData: data };
  }

  async createNetwork(net: Network): Promise<DriverData> {
    const h = this.ctx.host;
    const cfg = parseBridgeOptions(net.id, net.options, true);
    const undo = new Undo();
    const data: BridgeData = { createdBridge: false, addedAddresses: '', adoptedDown: false };
    try {
      let bridge = await h.getLink(cfg.bridgeName);
      if (bridge && bridge.kind !== 'bridge') throw new ConflictError(`bridge ${cfg.bridgeName}: a ${bridge.kind ?? 'non-bridge'} device of that name exists`);
      if (bridge && !bridge.up) {
        data.adoptedDown = true;
        const index = bridge.index;
        undo.push(`bring ${cfg.bridgeName} back down`, () => h.setDown(index));
      }
      if (!bridge) {
        bridge = await h.createBridge(cfg.bridgeName, { mtu: cfg.mtu });
        data.createdBridge = true;
        undo.push(`create bridge ${cfg.bridgeName}`, () => h.deleteLink(cfg.bridgeName));
      }
      const present = new Set((await h.listAddrs(bridge.index)).map((a) => a.cidr));
      const added: string[] = [];
      for (const cidr of gatewayCidrs(net)) {
        if (present.has(cidr)) continue;
        try {
          await h.addAddr(bridge.index, cidr);
        } catch (err) {
          // Another process restoring the same network added it first: the address is there, as wanted.
          if (err instanceof ConflictError) continue;
          throw err;
        }
        added.push(cidr);
        undo.push(`add ${cidr}`, () => h.delAddr(bridge!.index, cidr));
      }
      data.addedAddresses = added.join(' ');
      await h.setUp(bridge.index);
      undo.commit();
      debug(`network ${net.name}: bridge ${cfg.bridgeName} ready (${data.createdBridge ? 'created' : 'adopted'})`);
      return data;
    } catch (err) {
      await undo.run();
      throw err;
    }
  }

  async deleteNetwork(net: Network): Promise<void> {
    const h = this.ctx.host;
    const data = net.driverData as BridgeData;
    const device = net.info.device!;
    // A bridge named from the network's id is tsnet's even when a create killed midway never recorded making it.
    if (data.createdBridge || device === ownBridgeName(net.id)) {
      await h.deleteLink(device);
      return;
    }
    // An adopted bridge stays as found: only the addresses tsnet put on it go.
    const bridge = await h.getLink(device);
    if (!bridge) return;
    for (const cidr of (data.addedAddresses || '').split(' ').filter(Boolean)) await h.delAddr(bridge.index, cidr);
    if (data.adoptedDown) await h.setDown(bridge.index);
  }

  async restore(net: Network): Promise<DriverData | undefined> {
    const bridge = await this.ctx.host.getLink(net.info.device!);
    if (bridge?.up) return undefined;
    const made = (await this.createNetwork(net)) as BridgeData;
    const had = net.driverData as Partial<BridgeData>;
    // A bridge that was adopted stays adopted while it exists; one tsnet re-made is its own.
    return { createdBridge: !bridge || !!had.createdBridge, addedAddresses: [had.addedAddresses, made.addedAddresses].filter(Boolean).join(' '), adoptedDown: !!had.adoptedDown };
  }

  async isLive(net: Network): Promise<boolean> {
    return !!(await this.ctx.host.getLink(net.info.device!))?.up;
  }

  async createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface> {
    const h = this.ctx.host;
    const bridge = await h.mustGetLink(net.info.device!);
    const hostVeth = hostVethName(ep);
    const mac = ep.mac ?? (ep.ipv4 ? macFromIpv4(splitCidr(ep.ipv4).ip) : undefined);
    await attachVeth(h, { hostVeth, ifname: ep.ifname, bridgeIndex: bridge.index, mtu: net.info.mtu ?? bridge.mtu, nsFd: sandbox.nsFd, mac });
    return { hostVeth, mac };
  }

  async join(net: Network, ep: Endpoint, sandbox: SandboxHandle, opts: JoinOptions): Promise<JoinInfo> {
    const s = sandbox.netlink;
    const link = await s.mustGetLink(ep.ifname);
    for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) await s.addAddr(link.index, cidr);
    await s.setUp(link.index);
    // The daemon's default-gateway(-v6), recorded as aux addresses of the default bridge only, as Docker's.
    const gateway = defaultGatewayOf(net, 4) ?? gatewayOf(net, 4);
    const gateway6 = defaultGatewayOf(net, 6) ?? gatewayOf(net, 6);
    await addRoutes(s, link.index, ep, { gateway, gateway6, internal: net.internal, ...opts });
    return { ifname: ep.ifname, gateway, gateway6 };
  }

  async leave(_net: Network, ep: Endpoint, sandbox: SandboxHandle | undefined): Promise<void> {
    // Deleting one end of a veth pair deletes both; the host end may already be gone.
    if (sandbox) await sandbox.netlink.deleteLink(ep.ifname);
  }

  /** The host end (a missing one counts as removed: deleting the sandbox's end took it along). */
  async deleteEndpoint(_net: Network, ep: Endpoint): Promise<void> {
    await this.ctx.host.deleteLink(hostVethName(ep));
  }

  async setHairpin(_net: Network, ep: Endpoint, on: boolean): Promise<void> {
    if (ep.hostVeth) await this.ctx.host.setHairpin((await this.ctx.host.mustGetLink(ep.hostVeth)).index, on);
  }
}
