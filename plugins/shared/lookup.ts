/**
 * Lookups the one-shot faces (CNI, netavark) share: a network or sandbox that may be gone, and the
 * sandbox a face's container record points at.
 */
import { type Controller, type Network, NotFoundError, type Sandbox } from '../../src/index';

/** What a face records of a container's sandbox: enough to find it again, or to know it is not ours. */
export interface SandboxRecord {
  /** The sandbox's name, chosen before it was made. */
  sandboxName: string;
  /** Its id once made (preferred for lookups: names are user-visible and could be reused). */
  sandboxId?: string;
  /** The runtime's namespace the sandbox is over. */
  netns: string;
}

/** fn's value, or undefined when it throws NotFoundError. */
async function unlessNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** The network, or undefined when there is none of that name. */
export function tryNetwork(ctl: Controller, name: string): Promise<Network | undefined> {
  return unlessNotFound(() => ctl.getNetwork(name));
}

/** The sandbox of ref, or undefined when there is none. */
export function trySandbox(ctl: Controller, ref: string): Promise<Sandbox | undefined> {
  return unlessNotFound(() => ctl.getSandbox(ref));
}

/** The record's sandbox, or undefined when it is gone (removed with `tsnet sandbox rm`, say) or was never made. */
export async function sandboxOf(ctl: Controller, rec: SandboxRecord | undefined): Promise<Sandbox | undefined> {
  if (!rec) return undefined;
  if (rec.sandboxId) return trySandbox(ctl, rec.sandboxId);
  // Only the name is known (a face killed midway): trust it only for a sandbox over the same namespace.
  const sb = await trySandbox(ctl, rec.sandboxName);
  return sb?.key === rec.netns ? sb : undefined;
}
