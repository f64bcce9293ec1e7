/**
 * The tsnet network behind a podman network. Podman never calls netavark on `network create`/`rm`,
 * so the tsnet network (bridge, gateway address, firewall) is made by the first setup that needs it
 * and removed by the teardown of its last container, as netavark does with its bridge.
 */
import * as fs from 'node:fs';
import { ConflictError, type Controller, type Network, NotFoundError } from '../../src/index';
import { tryNetwork } from '../shared/lookup';
import { NetavarkError } from './errors';
import { NETAVARK_LABEL, type NetworkPlan } from './plan';

/** The device of the host's IPv4 default route: netavark's macvlan parent when podman names none. */
export function defaultRouteDevice(routes = fs.readFileSync('/proc/net/route', 'utf8')): string {
  for (const line of routes.split('\n').slice(1)) {
    const [dev, dst, , , , , , mask] = line.trim().split(/\s+/);
    if (dst === '00000000' && mask === '00000000') return dev;
  }
  throw new NetavarkError('no default route interface found: give the macvlan network a parent (podman network create -o parent=…)');
}

/** Where a recorded network differs from podman's definition; undefined when it is the same network. */
export function difference(net: Network, spec: NetworkPlan['spec']): string | undefined {
  if (net.labels[NETAVARK_LABEL] !== spec.labels![NETAVARK_LABEL]) return net.labels[NETAVARK_LABEL] ? `podman network id ${net.labels[NETAVARK_LABEL].slice(0, 12)}` : 'no podman network (it was made by another tsnet face)';
  if (net.driver !== spec.driver) return `driver ${net.driver}`;
  const have = net.ipam.map((p) => p.subnet).sort().join(',');
  const want = (spec.ipam ?? []).map((p) => p.subnet!).sort().join(',');
  if (have !== want) return `subnets ${have}`;
  if (net.internal !== !!spec.internal) return `internal ${net.internal}`;
  for (const key of Object.keys(spec.options ?? {})) if (net.options[key] !== spec.options![key]) return `option ${key}=${net.options[key] ?? '(unset)'}`;
  for (const [key, v] of Object.entries(spec.labels ?? {})) if (net.labels[key] !== v) return `label ${key}=${net.labels[key] ?? '(unset)'}`;
  return undefined;
}

/** Removes the network when it is one of podman's and has no endpoint left; true when removed. */
export async function removeIfUnused(ctl: Controller, name: string): Promise<boolean> {
  const net = await tryNetwork(ctl, name);
  if (!net?.labels[NETAVARK_LABEL] || (await ctl.networkEndpoints(net.id)).length) return false;
  try {
    await ctl.deleteNetwork(net.id);
    return true;
  } catch (err) {
    // Another setup took it meanwhile, or another teardown removed it: either way it is not ours to remove now.
    if (err instanceof ConflictError || err instanceof NotFoundError) return false;
    throw err;
  }
}

/**
 * The network of the plan, ready for endpoints: created when missing, replaced when a podman network of
 * that name was removed and made again differently (and the old one has no endpoint left), restored
 * when the kernel lost its devices. created says whether this call made it (the undo of a failed setup).
 */
export async function ensurePodmanNetwork(ctl: Controller, plan: NetworkPlan): Promise<{ network: Network; created: boolean }> {
  let spec = plan.spec;
  if (spec.driver === 'macvlan' && !spec.options?.parent) spec = { ...spec, options: { ...spec.options, parent: defaultRouteDevice() } };
  const existing = await tryNetwork(ctl, plan.name);
  const stale = existing && difference(existing, spec);
  if (stale && !(await removeIfUnused(ctl, plan.name))) {
    throw new NetavarkError(`network ${plan.name}: tsnet has a network of that name with ${stale}, in use: remove it first`);
  }
  const { network, created } = await ctl.ensureNetwork(spec);
  const other = difference(network, spec);
  if (other) throw new NetavarkError(`network ${plan.name}: tsnet has a network of that name with ${other}`);
  if (!(await ctl.restoreNetwork(network.id))) throw new NetavarkError(`network ${plan.name}: its devices are missing and could not be restored`);
  return { network, created };
}
