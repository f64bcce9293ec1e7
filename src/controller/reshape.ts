/**
 * Re-shaping the default bridge when the daemon config changed between two daemon starts (bip,
 * fixed-cidr, mtu, icc, ip-masq, ipv6…), as dockerd re-creates docker0's network at start: done
 * only when no sandbox is on it; otherwise the old shape stays, the bridge keeps serving, and one
 * line says which sandboxes hold it. A bridge adopted through "bridge": <name> is never changed in
 * the kernel: re-adopting it only updates tsnet's record.
 */
import { predefinedNetworks } from '../drivers/registry';
import type { Network, NetworkSpec } from '../model';
import { keys } from '../store/store';
import { type Core, networkEndpoints } from './core';
import { adoptedBridgeAddress, BRIDGE_SHAPE_KEY, deleteNetwork, ensurePredefined } from './network';

/** The spec the current config asks of the default bridge, as recorded in BRIDGE_SHAPE_KEY; undefined with "bridge": "none". */
async function wantedShape(core: Core, current: Network | undefined, recorded: string | undefined): Promise<string | undefined> {
  if (core.config.bridge === 'none') return undefined;
  let address: string | undefined;
  if (core.config.bridge) {
    // The bridge adopted already keeps the address it was adopted with; another one is read from the kernel.
    const before = recorded ? (JSON.parse(recorded) as NetworkSpec).ipam?.find((c) => c.subnet && !c.subnet.includes(':')) : undefined;
    address = current?.info.device === core.config.bridge
      ? before?.gateway && `${before.gateway}/${before.subnet!.split('/')[1]}`
      : await adoptedBridgeAddress(core);
  }
  const bridge = predefinedNetworks(core.config, address).find((p) => p.spec.name === 'bridge');
  return bridge && JSON.stringify(bridge.spec);
}

/** Re-shapes the default bridge to the config when it changed and no sandbox is on it; returns the line to log, if any. */
export async function reshapeDefaultBridge(core: Core): Promise<string | undefined> {
  const id = await core.local.get<string>(keys.networkName('bridge'));
  const current = id ? await core.local.get<Network>(keys.network(id)) : undefined;
  const recorded = await core.local.get<string>(BRIDGE_SHAPE_KEY);
  const wanted = await wantedShape(core, current, recorded);
  if (!current) {
    // "bridge": "none" left nothing to re-shape; a missing bridge is made by ensurePredefined.
    if (!wanted) await core.local.txn(async (t) => t.delete(BRIDGE_SHAPE_KEY));
    return undefined;
  }
  // A record from before shapes were kept: take it as made from this config.
  if (recorded === undefined && wanted) {
    await core.local.txn(async (t) => t.put(BRIDGE_SHAPE_KEY, wanted));
    return undefined;
  }
  if (recorded === wanted || current.transition) return undefined;
  const eps = await networkEndpoints(core.local, current.id);
  if (eps.length) {
    return `default bridge keeps its old shape: sandboxes ${eps.map((e) => e.name).join(', ')} are on it; the daemon config's new one applies at a daemon start once they are gone`;
  }
  await deleteNetwork(core, current.id, { reshaping: true });
  await core.local.txn(async (t) => t.delete(BRIDGE_SHAPE_KEY));
  await ensurePredefined(core);
  return wanted ? 'default bridge re-shaped to the daemon config' : 'default bridge removed: the daemon config sets "bridge": "none"';
}
