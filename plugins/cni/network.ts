/**
 * The tsnet network behind a CNI network: created on the first ADD (runtimes run ADDs in parallel,
 * so creation is serialised under a lock file in the state directory), reused after, and checked
 * against the config so one name never silently means two different networks.
 */
import * as path from 'node:path';
import { BridgeOption, Controller, type LinkInfo, type Network, NetlinkHandle, NotFoundError, withFileLock } from '../../src/index';
import { CniCode, CniError } from './codes';
import type { NetworkPlan } from './config';

/**
 * Lock file serialising network creation and restore between plugin processes and, in the daemon,
 * between concurrent calls (the kernel layer's lock queues callers of one process per file).
 */
export const NETWORK_LOCK = 'cni-network.lock';
/** How long an ADD waits for another's network creation: creating a bridge with its firewall rules can take seconds under load. */
const NETWORK_LOCK_TIMEOUT_MS = 60_000;

const invalid = (msg: string) => new CniError(CniCode.InvalidNetworkConfig, `invalid network config: ${msg}`);

/** The network, or undefined when there is none of that name. */
export function tryNetwork(ctl: Controller, name: string): Network | undefined {
  try {
    return ctl.getNetwork(name);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Refuses a network whose settings contradict the config (only keys the config sets are compared). */
export function checkCompatible(net: Network, plan: NetworkPlan): void {
  if (net.driver === 'host' || net.driver === 'null') throw invalid(`network ${net.name} (driver ${net.driver}) gives the container no interface of its own`);
  const spec = plan.create;
  if (!spec) return;
  const differs = (what: string, have: unknown, want: unknown) => new CniError(CniCode.InvalidNetworkConfig, `invalid network config: network ${net.name} exists with ${what} ${String(have)}, the config asks for ${String(want)}`);
  if (spec.driver && spec.driver !== net.driver) throw differs('driver', net.driver, spec.driver);
  // tsnet may add a default IPv4 pool to an IPv6-only request, so the config's subnets need only be among the network's.
  const have = net.ipam.map((p) => p.subnet).sort();
  const want = (spec.ipam ?? []).map((p) => p.subnet!).sort();
  if (!want.every((s) => have.includes(s))) throw differs('subnets', have.join(','), want.join(','));
  const opt = spec.options ?? {};
  if (opt[BridgeOption.name] && opt[BridgeOption.name] !== net.driverState.bridge) throw differs('bridge', net.driverState.bridge, opt[BridgeOption.name]);
  if (opt[BridgeOption.mtu] && opt[BridgeOption.mtu] !== net.options[BridgeOption.mtu]) throw differs('mtu', net.options[BridgeOption.mtu] ?? 'default', opt[BridgeOption.mtu]);
  // ipMasq is compared only when the config says it: a CLI-made network keeps its own default.
  const masquerades = !/^(false|0|no)$/i.test(net.options[BridgeOption.masquerade] ?? 'true');
  if (plan.ipMasq !== undefined && plan.ipMasq !== masquerades) throw differs('ipMasq', masquerades, plan.ipMasq);
}

/** The network's bridge device when it exists and is up; networks without one count as ready. */
async function bridgeReady(host: NetlinkHandle, net: Network): Promise<{ ready: boolean; bridge?: LinkInfo }> {
  if (!net.driverState.bridge) return { ready: true };
  const bridge = await host.getLink(net.driverState.bridge);
  return { ready: !!bridge?.up, bridge };
}

/**
 * The network of the plan, ready for endpoints: looked up without a lock on the fast path; created
 * (or restored after a reboot lost its bridge) under the lock, so a second process never sees a
 * network record whose bridge is still being made.
 */
export async function ensureNetwork(ctl: Controller, host: NetlinkHandle, plan: NetworkPlan): Promise<{ net: Network; bridge?: LinkInfo }> {
  const existing = tryNetwork(ctl, plan.name);
  if (existing) {
    checkCompatible(existing, plan);
    const state = await bridgeReady(host, existing);
    if (state.ready) return { net: existing, bridge: state.bridge };
  }
  return withFileLock(path.join(ctl.stateDir, NETWORK_LOCK), async () => {
    let net = tryNetwork(ctl, plan.name);
    if (!net) {
      if (!plan.create) throw invalid(`network ${plan.name} not found: create it with "tsnet create" or drop "network" to have the plugin make it`);
      net = await ctl.createNetwork(plan.create);
    }
    checkCompatible(net, plan);
    let state = await bridgeReady(host, net);
    if (!state.ready) {
      // Opening a controller that is not read-only restores lost kernel objects and their firewall rules.
      (await Controller.open({ stateDir: ctl.stateDir, resolver: 'none' })).close();
      state = await bridgeReady(host, net);
      if (!state.ready) throw new CniError(CniCode.Internal, `network ${net.name}: bridge ${net.driverState.bridge} is missing and could not be restored`);
    }
    return { net, bridge: state.bridge };
  }, NETWORK_LOCK_TIMEOUT_MS);
}
