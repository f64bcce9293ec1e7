/**
 * teardown: the container's endpoint on each network podman names is removed (idempotent: an unknown
 * container, a gone namespace or a second teardown succeed), the sandbox with its last endpoint, and
 * a podman network with its last container, as netavark removes its bridge. Errors are collected and
 * reported together at the end, as netavark's NetavarkErrorList.
 */
import type { Controller } from '../../src/index';
import type { NetworkOptions } from './contract';
import { sandboxOf, tryNetwork } from '../shared/lookup';
import { removeIfUnused } from './network';
import { containerRecords } from './records';

/** Runs step, adding its failure to errors. */
async function collect(errors: unknown[], step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (err) {
    errors.push(err);
  }
}

/** teardown: see the file comment. */
export async function teardownContainer(ctl: Controller, o: NetworkOptions): Promise<void> {
  const errors: unknown[] = [];
  const names = Object.keys(o.network_info).sort();
  const records = containerRecords(ctl);
  const rec = await records.get(o.container_id);
  const sb = await sandboxOf(ctl, rec);
  if (sb) {
    const eps = await ctl.sandboxEndpoints(sb.id);
    for (const name of names) {
      await collect(errors, async () => {
        const net = await tryNetwork(ctl, name);
        // With force, a namespace that is gone only skips the container-side steps; the host side is still freed.
        if (net && eps.some((e) => e.networkId === net.id)) await ctl.disconnect(net.id, sb.id, { force: true });
      });
    }
    await collect(errors, async () => {
      if ((await ctl.sandboxEndpoints(sb.id)).length) return;
      await ctl.deleteSandbox(sb.id);
      await records.delete(o.container_id);
    });
  } else if (rec) {
    await collect(errors, () => records.delete(o.container_id));
  }
  for (const name of names) await collect(errors, () => removeIfUnused(ctl, name));
  if (errors.length) throw new AggregateError(errors, `teardown of container ${o.container_id.slice(0, 12)}`);
}
