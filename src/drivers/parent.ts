/**
 * The parent ("lower") device of macvlan and ipvlan networks, as Docker resolves it: an existing
 * interface (never created or deleted by tsnet), an 802.1q sub-interface `eth0.50` made on demand
 * (and deleted with the network, only if tsnet made it), or, with no parent or `--internal`, a
 * dummy device of the network's own (an empty bridge where the kernel has no dummy driver).
 */
import { InvalidArgumentError, NotFoundError, TsnetError } from '../errors';
import type { NetlinkHandle } from '../kernel/netlink';
import type { Network } from '../model';
import { validateIfname } from '../names';

/** Where a network's endpoints hang off. */
export interface ParentSpec {
  /** Device name: given, `eth0.50`, or the network's own `dm-<id12>`. */
  name: string;
  /** 802.1q sub-interface to create when missing: its base device and VLAN id. */
  vlan?: { base: string; id: number };
  /** The network's own dummy parent (no parent given, or --internal). */
  dummy: boolean;
}

/** What createParent made, recorded with the network. */
export interface ParentData {
  /** tsnet created the parent (VLAN sub-interface or dummy): it goes with the network. */
  createdParent: boolean;
  /** Kind of the device tsnet created ('vlan', 'dummy', or 'bridge' standing in for dummy). */
  parentKind: string;
}

const VLAN_RE = /^(.+)\.(\d{1,4})$/;

/** Parses the `parent` option (Docker's key) of a network; pure. */
export function parentSpec(net: Network): ParentSpec {
  const given = net.options.parent;
  if (!given || net.internal) return { name: `dm-${net.id.slice(0, 12)}`, dummy: true };
  validateIfname(given, 'parent interface (-o parent)');
  const m = VLAN_RE.exec(given);
  if (!m) return { name: given, dummy: false };
  const id = Number(m[2]);
  if (id < 1 || id > 4094) throw new InvalidArgumentError(`invalid parent ${given}: VLAN id must be 1 to 4094`);
  return { name: given, vlan: { base: m[1], id }, dummy: false };
}

/** Claims that keep networks from sharing a parent in ways the kernel refuses (mode is 'macvlan', 'ipvlan-l2', … or 'exclusive'). */
export function parentClaims(spec: ParentSpec, mode: string): Record<string, string> {
  const claims: Record<string, string> = { [`parent:${spec.name}`]: spec.dummy ? 'exclusive' : mode };
  // One network per VLAN sub-interface, as Docker refuses the same parent.vlan twice.
  if (spec.vlan) claims[`vlan:${spec.name}`] = 'exclusive';
  return claims;
}

/** Whether a kernel failure means "this kernel has no such link type" (CONFIG_DUMMY etc. not set). */
export function isUnsupportedKind(err: unknown): boolean {
  return err instanceof TsnetError && /EOPNOTSUPP|Unknown device type|not supported/i.test(err.message);
}

/** Makes sure the parent exists and is up; returns what was created so deleteParent removes only that. */
export async function createParent(h: NetlinkHandle, spec: ParentSpec): Promise<ParentData> {
  const existing = await h.getLink(spec.name);
  if (existing) {
    if (!existing.up && (spec.dummy || spec.vlan)) await h.setUp(existing.index);
    return { createdParent: false, parentKind: existing.kind ?? '' };
  }
  let kind: string;
  if (spec.vlan) {
    const base = await h.getLink(spec.vlan.base);
    if (!base) throw new NotFoundError(`parent ${spec.name}: base interface ${spec.vlan.base} not found`);
    await h.createVlan(spec.name, base.index, spec.vlan.id);
    kind = 'vlan';
  } else if (spec.dummy) {
    kind = await createDummyOrBridge(h, spec.name);
  } else {
    throw new NotFoundError(`parent interface ${spec.name} not found`);
  }
  const link = await h.mustGetLink(spec.name);
  try {
    await h.setUp(link.index);
  } catch (err) {
    await h.deleteLink(link.index).catch(() => undefined);
    throw err;
  }
  return { createdParent: true, parentKind: kind };
}

/** A dummy device, or an empty bridge on kernels without CONFIG_DUMMY (both carry no traffic out of the host). */
async function createDummyOrBridge(h: NetlinkHandle, name: string): Promise<string> {
  try {
    await h.createDummy(name);
    return 'dummy';
  } catch (err) {
    if (!isUnsupportedKind(err)) throw err;
    await h.createBridge(name);
    return 'bridge';
  }
}

/** Deletes the parent only if tsnet created it; an interface the operator owns is never touched. */
export async function deleteParent(h: NetlinkHandle, spec: ParentSpec, data: Partial<ParentData>): Promise<void> {
  if (data.createdParent) await h.deleteLink(spec.name).catch((err) => { if (!(err instanceof NotFoundError)) throw err; });
}
