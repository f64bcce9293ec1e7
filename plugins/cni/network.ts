/**
 * The tsnet network behind a CNI network: created on the first ADD (runtimes run ADDs in parallel;
 * the Controller serialises creation between processes), reused after, restored when a reboot lost
 * its devices, and checked against the config so one name never silently means two different networks.
 */
import { cniBridgeDifference, type Controller, type Network } from '../../src/index';
import { tryNetwork } from '../shared/lookup';
import { CniCode, CniError } from './codes';
import type { NetworkPlan } from './config';

const invalid = (msg: string) => new CniError(CniCode.InvalidNetworkConfig, `invalid network config: ${msg}`);

/** Refuses a network whose settings contradict the config (only keys the config sets are compared). */
export function checkCompatible(net: Network, plan: NetworkPlan): void {
  if (net.driver === 'host' || net.driver === 'null') throw invalid(`network ${net.name} (driver ${net.driver}) gives the container no interface of its own`);
  const differs = (what: string) => invalid(`network ${net.name} exists with ${what}`);
  const want = (have: unknown, asked: unknown) => `${String(have)}, the config asks for ${String(asked)}`;
  const subnets = net.ipam.map((p) => p.subnet);
  const missing = plan.rangeSubnets.filter((s) => !subnets.includes(s));
  if (missing.length) throw differs(`subnets ${want(subnets.join(','), `${missing.join(',')} (runtimeConfig.ipRanges)`)}`);
  const spec = plan.create;
  if (!spec) return;
  if (spec.driver && spec.driver !== net.driver) throw differs(`driver ${want(net.driver, spec.driver)}`);
  // tsnet may add a default IPv4 pool to an IPv6-only request, so the config's subnets need only be among the network's.
  const have = net.ipam.map((p) => p.subnet).sort();
  const asked = (spec.ipam ?? []).map((p) => p.subnet!).sort();
  if (!asked.every((s) => have.includes(s))) throw differs(`subnets ${want(have.join(','), asked.join(','))}`);
  if (net.driver !== 'bridge') return;
  const difference = cniBridgeDifference(net, spec.options ?? {}, plan.ipMasq !== undefined);
  if (difference) throw differs(difference);
}

/** Names the device a network lost, for the error when it cannot be restored. */
function deviceOf(net: Network): string {
  return net.info.device ? `bridge ${net.info.device}` : `the ${net.driver} driver's devices`;
}

/**
 * The network of the plan, ready for endpoints: looked up, or created when missing (the Controller
 * serialises that, so a second process never sees a network whose devices are still being made),
 * then restored when the kernel lost its devices (after a reboot).
 */
export async function ensureNetwork(ctl: Controller, plan: NetworkPlan): Promise<Network> {
  let net: Network;
  if (plan.create) {
    net = (await ctl.ensureNetwork(plan.create)).network;
  } else {
    const existing = await tryNetwork(ctl, plan.name);
    if (!existing) throw invalid(`network ${plan.name} not found: create it with "tsnet create" or drop "network" to have the plugin make it`);
    net = existing;
  }
  checkCompatible(net, plan);
  if (!(await ctl.restoreNetwork(net.id))) throw new CniError(CniCode.Internal, `network ${net.name}: ${deviceOf(net)} is missing and could not be restored`);
  return net;
}
