/**
 * setup: every network of the options checked first (plan.ts), then made or reused, the container's
 * sandbox made over podman's namespace (or reused: `podman network connect`), one endpoint per
 * network with podman's addresses, MAC, aliases and ports. Podman never tears down a failed setup,
 * so a failure runs the reverse of every completed step before it is reported.
 */
import * as fs from 'node:fs';
import { ConflictError, type ConnectOptions, type Controller, DNS_LISTEN_ADDRESS, type Endpoint, type Network, type Sandbox } from '../../src/index';
import type { StatusBlock } from './contract';
import { NetavarkError } from './errors';
import { ensurePodmanNetwork, removeIfUnused } from './network';
import { type NetworkPlan, PODMAN_SEARCH_DOMAIN, type SetupPlan } from './plan';
import { sandboxOf, trySandbox } from '../shared/lookup';
import { containerRecords, sandboxNames } from './records';

/** Reverses of completed steps, run newest first. */
type Reverses = (() => Promise<unknown>)[];

/** Runs the reverses, newest first, past their own failures: the setup's error is what podman must see. */
async function unwind(undo: Reverses): Promise<void> {
  for (const reverse of undo.reverse()) {
    try {
      await reverse();
    } catch {
      // Left for the next teardown or `tsnet system gc`.
    }
  }
}

/** The container's sandbox over netns, when one is recorded; a stale one (an earlier namespace, a failed teardown) is removed. */
async function existingSandbox(ctl: Controller, plan: SetupPlan, netns: string): Promise<Sandbox | undefined> {
  const records = containerRecords(ctl);
  const sb = await sandboxOf(ctl, await records.get(plan.containerId));
  if (!sb) return undefined;
  if (sb.key === netns) return sb;
  if (fs.existsSync(sb.key) && (await ctl.sandboxEndpoints(sb.id)).length) {
    throw new NetavarkError(`container ${plan.containerId.slice(0, 12)} is set up in namespace ${sb.key}, not ${netns}: tear it down first`);
  }
  for (const ep of await ctl.sandboxEndpoints(sb.id)) await ctl.disconnect(ep.networkId, sb.id, { force: true });
  await ctl.deleteSandbox(sb.id);
  await records.delete(plan.containerId);
  return undefined;
}

/** Names of the container on a network: its name (when the sandbox has another), --network-alias values, the short id. */
function aliasesOf(plan: SetupPlan, np: NetworkPlan, sandboxName: string): string[] {
  if (!np.dns) return [];
  const names = sandboxName === plan.containerName ? np.aliases : [plan.containerName, ...np.aliases];
  return [...new Set(names.filter((n) => n && n !== sandboxName))];
}

/** Creates the sandbox with its first endpoint, under the first free name; the record goes first so teardown finds whatever a killed setup left. */
async function createSandbox(ctl: Controller, plan: SetupPlan, netns: string, net: Network, opts: (name: string) => ConnectOptions, undo: Reverses): Promise<Sandbox> {
  const records = containerRecords(ctl);
  undo.push(() => records.delete(plan.containerId));
  for (const name of sandboxNames(plan.containerName, plan.containerId)) {
    if (await trySandbox(ctl, name)) continue;
    await records.put(plan.containerId, { sandboxName: name, netns });
    // Pushed before: a sandbox made before a later failure in the call (the resolver sync) is removed too.
    const reverse = async () => {
      const made = await trySandbox(ctl, name);
      if (made?.key === netns) await ctl.deleteSandbox(made.id);
    };
    let sb: Sandbox;
    try {
      // netavark brings the namespace's loopback up (the resolver listens on it); podman leaves it down.
      sb = await ctl.createSandbox({ name, network: net.id, netnsPath: netns, dns: plan.dnsServers, ...opts(name) });
    } catch (err) {
      // Taken meanwhile by another setup: try the next name.
      if (err instanceof ConflictError && (await trySandbox(ctl, name))?.key !== netns) continue;
      await reverse().catch(() => undefined);
      throw err;
    }
    undo.push(reverse);
    await records.put(plan.containerId, { sandboxName: name, sandboxId: sb.id, netns });
    return sb;
  }
  throw new NetavarkError(`container ${plan.containerName}: every sandbox name for it is taken`);
}

/** The status block of one network, from the endpoint podman's addresses went to. */
async function statusOf(ctl: Controller, np: NetworkPlan, net: Network, sb: Sandbox, ep: Endpoint, dnsServers: string[]): Promise<StatusBlock> {
  const mac = ep.mac ?? (await ctl.attachmentState(net.id, sb.id)).sandboxInterface?.mac;
  if (!mac) throw new NetavarkError(`network ${np.name}: interface ${np.ifname} has no MAC address`);
  return {
    // The resolver answers inside every sandbox at 127.0.0.11, as Docker's; podman writes resolv.conf from these.
    dns_search_domains: np.dns ? [PODMAN_SEARCH_DOMAIN] : [],
    dns_server_ips: np.dns ? [DNS_LISTEN_ADDRESS] : dnsServers,
    interfaces: { [np.ifname]: { mac_address: mac, subnets: np.subnets.map((s) => (s.gateway ? { ipnet: s.ipnet, gateway: s.gateway } : { ipnet: s.ipnet })) } },
  };
}

/** setup: see the file comment. Returns the status blocks by network name. */
export async function setupContainer(ctl: Controller, netns: string, plan: SetupPlan): Promise<Record<string, StatusBlock>> {
  const undo: Reverses = [];
  try {
    let sb = await existingSandbox(ctl, plan, netns);
    // Ports go to one network only (a host port maps to one address); `network connect` repeats them, and they stay where they are.
    let portsPlaced = sb ? (await ctl.sandboxEndpoints(sb.id)).some((e) => e.ports.length) : false;
    const out: Record<string, StatusBlock> = {};
    for (const np of plan.networks) {
      const { network: net, created } = await ensurePodmanNetwork(ctl, np);
      if (created) undo.push(() => removeIfUnused(ctl, np.name));
      const ports = !portsPlaced && np.publishes ? plan.ports : [];
      portsPlaced ||= ports.length > 0;
      const opts = (name: string): ConnectOptions => ({ ifname: np.ifname, ip: np.ip, ip6: np.ip6, mac: np.mac, aliases: aliasesOf(plan, np, name), ports });
      let ep: Endpoint | undefined;
      if (!sb) {
        sb = await createSandbox(ctl, plan, netns, net, opts, undo);
        ep = (await ctl.sandboxEndpoints(sb.id)).find((e) => e.networkId === net.id);
      } else {
        const owner = sb;
        // Pushed before: an endpoint made before a later failure in the call is removed too (a missing one is no error).
        undo.push(() => ctl.disconnect(net.id, owner.id, { force: true }));
        ep = await ctl.connect(net.id, owner.id, opts(owner.name));
      }
      if (!ep) throw new NetavarkError(`network ${np.name}: container ${plan.containerName} has no endpoint after setup`);
      out[np.name] = await statusOf(ctl, np, net, sb, ep, plan.dnsServers);
    }
    return out;
  } catch (err) {
    await unwind(undo);
    throw err;
  }
}
