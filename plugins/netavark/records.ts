/**
 * How podman containers map onto tsnet's model: a container is a tsnet sandbox over podman's
 * namespace (never created or deleted by tsnet), named after the container (or `podman-<short id>`
 * when a sandbox already has that name); each network is one endpoint of it. The face record
 * `netavark/container/<id>` maps podman's container id to the sandbox.
 */
import type { Controller, FaceRecords } from '../../src/index';
import type { SandboxRecord } from '../shared/lookup';

/** Namespace of this face's records. */
export const CONTAINER_RECORDS = 'netavark/container';

/** What the face remembers per container. */
export interface ContainerRecord extends SandboxRecord {
  /** The namespace podman passed to setup. */
  netns: string;
}

/** The face's container records. */
export function containerRecords(ctl: Controller): FaceRecords<ContainerRecord> {
  return ctl.records<ContainerRecord>(CONTAINER_RECORDS);
}

/** Sandbox names for a container, preferred first: its own name when it is a valid tsnet name, then one from its id. */
export function sandboxNames(containerName: string, containerId: string): string[] {
  const own = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(containerName) ? [containerName] : [];
  return [...own, `podman-${containerId.slice(0, 12)}`, `podman-${containerId.slice(0, 32)}`];
}
