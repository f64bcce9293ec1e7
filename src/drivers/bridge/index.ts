/** The bridge driver: a Linux bridge per network, a veth pair per endpoint, the gateway on the bridge. */
import { ConflictError } from '../../errors';
import { macFromIpv4, splitCidr } from '../../kernel/addr';
import { isNotFound } from '../../kernel/netlink';
import { log } from '../../log';
import type { Endpoint, Network } from '../../model';
import { randomHex } from '../../names';
import { Undo } from '../../undo';
import type { DriverCapabilities, DriverContext, EndpointInterface, JoinInfo, JoinOptions, NetworkDriver, SandboxHandle } from '../driver';
import { parseBridgeOptions } from './options';

const debug = log('tsnet:drivers:bridge');

/** Gateway addresses of a network as CIDRs for the bridge (172.25.0.1/16). */
function gatewayCidrs(net: Network): string[] {
  return net.ipam.filter((p) => p.gateway).map((p) => `${p.gateway}/${splitCidr(p.subnet).prefix}`);
}

/** The bridge driver (libnetwork drivers/bridge, netavark bridge). */
export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly capabilities: DriverCapabilities = { scope: 'local', needsIpam: true, dns: true, sandboxMode: 'own' };

  constructor(private readonly ctx: DriverContext) {}

  validateNetwork(net: Network): Record<string, string> {
    const cfg = parseBridgeOptions(net.id, net.options);
    return { bridge: cfg.bridgeName };
  }

  async createNetwork(net: Network): Promise<void> {
    const h = this.ctx.host;
    const cfg = parseBridgeOptions(net.id, net.options);
    const undo = new Undo();
    try {
      let bridge = await h.getLink(cfg.bridgeName);
      if (bridge && bridge.kind !== 'bridge') throw new ConflictError(`bridge ${cfg.bridgeName}: a ${bridge.kind ?? 'non-bridge'} device of that name exists`);
      if (!bridge) {
        bridge = await h.createBridge(cfg.bridgeName, { mtu: cfg.mtu });
        undo.push(`create bridge ${cfg.bridgeName}`, () => h.deleteLink(cfg.bridgeName));
      }
      const present = new Set((await h.listAddrs(bridge.index)).map((a) => a.cidr));
      for (const cidr of gatewayCidrs(net)) {
        if (present.has(cidr)) continue;
        try {
          await h.addAddr(bridge.index, cidr);
        } catch (err) {
          // Another process restoring the same network added it first: the address is there, as wanted.
          if (err instanceof ConflictError) continue;
          throw err;
        }
        undo.push(`add ${cidr}`, () => h.delAddr(bridge!.index, cidr));
      }
      await h.setUp(bridge.index);
      undo.commit();
      debug(`network ${net.name}: bridge ${cfg.bridgeName} ready`);
    } catch (err) {
      await undo.run();
      throw err;
    }
  }

  async deleteNetwork(net: Network): Promise<void> {
    await this.ctx.host.deleteLink(net.driverState.bridge);
  }

  async restore(net: Network): Promise<boolean> {
    const bridge = await this.ctx.host.getLink(net.driverState.bridge);
    if (bridge?.up) return false;
    await this.createNetwork(net);
    return true;
  }

  async createEndpoint(net: Network, ep: Endpoint, sandbox: SandboxHandle): Promise<EndpointInterface> {
    const h = this.ctx.host;
    const cfg = parseBridgeOptions(net.id, net.options);
    const bridge = await h.mustGetLink(net.driverState.bridge);
    const hostVeth = `veth${randomHex(7)}`;
    const mac = ep.mac ?? (ep.ipv4 ? macFromIpv4(splitCidr(ep.ipv4).ip) : undefined);
    // The peer is born inside the sandbox under its final name: no rename, no window where it sits in the host.
    const veth = await h.createVeth(hostVeth, ep.ifname, { mtu: cfg.mtu ?? bridge.mtu, peerNetnsFd: sandbox.nsFd, peerMac: mac });
    try {
      await h.setMaster(veth.index, bridge.index);
      await h.setUp(veth.index);
    } catch (err) {
      await h.deleteLink(hostVeth).catch(() => undefined);
      throw err;
    }
    return { hostVeth, mac };
  }

  async join(net: Network, ep: Endpoint, sandbox: SandboxHandle, opts: JoinOptions): Promise<JoinInfo> {
    const s = sandbox.netlink;
    const link = await s.mustGetLink(ep.ifname);
    for (const cidr of [ep.ipv4, ep.ipv6]) if (cidr) await s.addAddr(link.index, cidr);
    await s.setUp(link.index);
    const gateway = opts.gatewayOverride ?? net.ipam.find((p) => p.gateway && splitCidr(p.subnet).family === 4)?.gateway;
    const gateway6 = net.ipam.find((p) => p.gateway && splitCidr(p.subnet).family === 6)?.gateway;
    // Internal networks have no way out, so no default route through them (as Docker).
    if (opts.defaultRoute && !net.internal) {
      // A concurrent join of the same sandbox may have set one first: keep it rather than fail.
      const tolerate = (err: unknown) => { if (!(err instanceof ConflictError)) throw err; };
      if (gateway && ep.ipv4) await s.addRoute({ gateway, oif: link.index }).catch(tolerate);
      if (gateway6 && ep.ipv6) await s.addRoute({ dst: '::/0', gateway: gateway6, oif: link.index }).catch(tolerate);
    }
    return { ifname: ep.ifname, gateway, gateway6 };
  }

  async leave(_net: Network, ep: Endpoint, sandbox: SandboxHandle | undefined): Promise<void> {
    // Deleting one end of a veth pair deletes both; the host end may already be gone.
    if (sandbox) await sandbox.netlink.deleteLink(ep.ifname);
  }

  async deleteEndpoint(_net: Network, ep: Endpoint): Promise<void> {
    if (!ep.hostVeth) return;
    try {
      await this.ctx.host.deleteLink(ep.hostVeth);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
