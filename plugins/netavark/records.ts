/**
 * How podman containers map onto tsnet's model: a container is a tsnet sandbox over podman's
 * namespace (never created or deleted by tsnet), named after the container (or `podman-<short id>`
 * when a sandbox already has that name); each network is one endpoint of it. The face record
 * `netavark/container/<id>` maps podman's container id to the sandbox.
 */
import { type Controller, type FaceRecords, NotFoundError, type Sandbox } from '../../src/index';

/** Namespace of this face's records. */
export const CONTAINER_RECORDS = 'netavark/container';

/** What the face remembers per container. */
export interface ContainerRecord {
  /** The sandbox's name, chosen before it was made. */
  sandboxName: string;
  /** Its id once made. */
  sandboxId?: string;
  /** The namespace podman passed to setup. */
  netns: string;
}

/** The face's container records. */
export function containerRecords(ctl: Controller): FaceRecords<ContainerRecord> {
  return ctl.records<ContainerRecord>(CONTAINER_RECORDS);
}

/** The sandbox of ref, or undefined when there is none. */
export async function trySandbox(ctl: Controller, ref: string): Promise<Sandbox | undefined> {
  try {
    return await ctl.getSandbox(ref);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** The record's sandbox, or undefined when it is gone or was never made. */
export async function sandboxOf(ctl: Controller, rec: ContainerRecord | undefined): Promise<Sandbox | undefined> {
  if (!rec) return undefined;
  if (rec.sandboxId) return trySandbox(ctl, rec.sandboxId);
  // Only the name is known (a setup killed midway): trust it only for a sandbox over the same namespace.
  const sb = await trySandbox(ctl, rec.sandboxName);
  return sb?.key === rec.netns ? sb : undefined;
}

/** Sandbox names for a container, preferred first: its own name when it is a valid tsnet name, then one from its id. */
export function sandboxNames(containerName: string, containerId: string): string[] {
  const own = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(containerName) ? [containerName] : [];
  return [...own, `podman-${containerId.slice(0, 12)}`, `podman-${containerId.slice(0, 32)}`];
}
