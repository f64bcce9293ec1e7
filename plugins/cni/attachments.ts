/**
 * How CNI containers map onto tsnet's model, kept in the one store the CLI reads:
 * a container (CNI_CONTAINERID) is a tsnet sandbox over the runtime's namespace (netnsPath =
 * CNI_NETNS, never created or deleted by tsnet), named `cni-<first 12 characters of the id>`; each
 * attachment (containerId, ifname) is one endpoint of that sandbox, so one container can hold
 * interfaces on several networks. The face record `cni/container/<id>` maps the full id to the
 * sandbox, since the name alone cannot tell two ids with the same first 12 characters apart.
 */
import { createHash } from 'node:crypto';
import { type Controller, type Endpoint, type FaceRecords, type Sandbox } from '../../src/index';
import type { SandboxRecord } from '../shared/lookup';
import type { PodIdentity } from './config';

/** Namespace of the plugin's records (`cni/container/<id>`, as releases before the face API wrote them). */
export const CONTAINER_RECORDS = 'cni/container';
/** Prefix of sandbox names made by the plugin. */
export const SANDBOX_PREFIX = 'cni-';

/**
 * What the plugin remembers per container. It is written before the sandbox is made (name only) and
 * completed after (id), so a plugin killed in between leaves a record DEL and GC can still follow.
 */
export interface ContainerRecord extends SandboxRecord {
  /** CNI_NETNS at the first ADD. */
  netns: string;
  created: string;
  /** The pod's K8S_POD_* identity (name, namespace, uid, infra container id), when the runtime sent it. */
  pod?: PodIdentity;
}

/** The plugin's container records. */
export function containerRecords(ctl: Controller): FaceRecords<ContainerRecord> {
  return ctl.records<ContainerRecord>(CONTAINER_RECORDS);
}

/** Sandbox names for a container id, preferred first: the short form, then one that cannot collide. */
export function sandboxNames(containerId: string): [string, string] {
  const short = SANDBOX_PREFIX + containerId.slice(0, 12);
  const hash = createHash('sha256').update(containerId).digest('hex').slice(0, 12);
  return [short, `${short}-${hash}`];
}

/** The container's record, if the plugin attached it. */
export function findContainer(ctl: Controller, containerId: string): Promise<ContainerRecord | undefined> {
  return containerRecords(ctl).get(containerId);
}

/** Records the container → sandbox mapping. */
export function recordContainer(ctl: Controller, containerId: string, rec: ContainerRecord): Promise<void> {
  return containerRecords(ctl).put(containerId, rec);
}

/** Drops the record. */
export function forgetContainer(ctl: Controller, containerId: string): Promise<void> {
  return containerRecords(ctl).delete(containerId);
}

/** Every container the plugin attached, with its id. */
export async function listContainers(ctl: Controller): Promise<{ containerId: string; rec: ContainerRecord }[]> {
  return (await containerRecords(ctl).list()).map((e) => ({ containerId: e.id, rec: e.value }));
}

/** The endpoint of one attachment: the sandbox's interface ifname on network networkId. */
export async function attachmentEndpoint(ctl: Controller, sb: Sandbox, networkId: string, ifname: string): Promise<Endpoint | undefined> {
  return (await ctl.sandboxEndpoints(sb.id)).find((e) => e.networkId === networkId && e.ifname === ifname);
}
