/**
 * DEL and GC. DEL is idempotent: an unknown container, a namespace that is already gone, or a second
 * DEL all succeed and free whatever is left; the last attachment of a network the plugin made takes
 * the network with it. GC removes every attachment of the network that the
 * runtime does not list in cni.dev/valid-attachments, carrying on past failures.
 */
import { ConflictError, type Controller, type Network, NotFoundError, type Sandbox } from '../../src/index';
import { sandboxOf, tryNetwork } from '../shared/lookup';
import { attachmentEndpoint, findContainer, forgetContainer, listContainers } from './attachments';
import { attachmentKey, CNI_LABEL, type NetConf, validAttachments } from './config';
import type { CniRequest } from './skel';

/** Deletes the container's sandbox (never its namespace: the runtime owns that) once no endpoint is left. */
async function releaseIfEmpty(ctl: Controller, containerId: string, sb: Sandbox): Promise<void> {
  if ((await ctl.sandboxEndpoints(sb.id)).length) return;
  await ctl.deleteSandbox(sb.id);
  await forgetContainer(ctl, containerId);
}

/**
 * A network the plugin made goes with its last attachment: runtimes never tell a plugin a network is
 * gone (podman's `network rm` only deletes the conflist file), and an idle network would keep its
 * subnet, bridge and rules. The next ADD makes it again. A sandbox of another face keeps it.
 */
async function releaseNetworkIfIdle(ctl: Controller, net: Network | undefined): Promise<void> {
  if (!net || net.labels[CNI_LABEL] !== 'true') return;
  try {
    if ((await ctl.networkEndpoints(net.id)).length) return;
    await ctl.deleteNetwork(net.id);
  } catch (err) {
    // An ADD attached meanwhile (it keeps the network), or another DEL is removing it or has.
    if (err instanceof ConflictError || err instanceof NotFoundError) return;
    throw err;
  }
}

/** DEL: see the file comment. */
export async function delAttachment(ctl: Controller, req: CniRequest, conf: NetConf): Promise<void> {
  const rec = await findContainer(ctl, req.containerId);
  if (!rec) return;
  const sb = await sandboxOf(ctl, rec);
  if (!sb) {
    await forgetContainer(ctl, req.containerId);
    return;
  }
  const net = await tryNetwork(ctl, conf.network ?? conf.name);
  // With force, a namespace that is gone only skips the container-side steps; the host side is still freed.
  if (net && (await attachmentEndpoint(ctl, sb, net.id, req.ifname))) await ctl.disconnect(net.id, sb.id, { force: true });
  await releaseIfEmpty(ctl, req.containerId, sb);
  await releaseNetworkIfIdle(ctl, net);
}

/** GC: see the file comment. Throws one AggregateError naming every attachment that could not be removed. */
export async function gcAttachments(ctl: Controller, conf: NetConf, valid: Set<string> = validAttachments(conf)): Promise<void> {
  const net = await tryNetwork(ctl, conf.network ?? conf.name);
  const validContainers = new Set([...valid].map((k) => k.slice(0, k.lastIndexOf('/'))));
  const errors: unknown[] = [];
  for (const { containerId, rec } of await listContainers(ctl)) {
    try {
      const sb = await sandboxOf(ctl, rec);
      if (!sb) {
        await forgetContainer(ctl, containerId);
        continue;
      }
      for (const ep of await ctl.sandboxEndpoints(sb.id)) {
        if (!net || ep.networkId !== net.id || valid.has(attachmentKey(containerId, ep.ifname))) continue;
        await ctl.disconnect(net.id, sb.id, { force: true });
      }
      // A listed container keeps even an empty sandbox: its ADD may be on the way.
      if (!validContainers.has(containerId)) await releaseIfEmpty(ctl, containerId, sb);
    } catch (err) {
      errors.push(err);
    }
  }
  await releaseNetworkIfIdle(ctl, net).catch((err) => errors.push(err));
  if (errors.length) throw new AggregateError(errors, `gc of network ${conf.network ?? conf.name}: ${errors.length} attachment(s) could not be removed`);
}
