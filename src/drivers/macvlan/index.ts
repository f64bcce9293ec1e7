/** The macvlan driver (Docker's `-d macvlan -o parent=eth0 -o macvlan_mode=bridge`). */
import { InvalidArgumentError } from '../../errors';
import type { DriverContext, NetworkDriver } from '../driver';
import { type ChildKind, LowerDeviceDriver } from '../lower-device';

/** macvlan modes (linux/if_link.h MACVLAN_MODE_*), Docker's `macvlan_mode` values. */
export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

/** The `macvlan_mode` option, bridge by default as Docker. */
function macvlanMode(options: Record<string, string>): MacvlanMode {
  const mode = options.macvlan_mode ?? 'bridge';
  if (!(MACVLAN_MODES as readonly string[]).includes(mode)) throw new InvalidArgumentError(`invalid option macvlan_mode="${mode}": expected one of ${MACVLAN_MODES.join(', ')}`);
  return mode as MacvlanMode;
}

const MACVLAN: ChildKind = {
  name: 'macvlan',
  keys: ['macvlan_mode'],
  mode(options) {
    const mode = macvlanMode(options);
    // passthru hands the whole parent to one child: nothing else may share it.
    return { claim: mode === 'passthru' ? 'exclusive' : 'macvlan', single: mode === 'passthru', onLink: false };
  },
  async createChild(h, ifname, parentIndex, o) {
    await h.createMacvlan(ifname, parentIndex, { mode: macvlanMode(o.options), netnsFd: o.nsFd, mac: o.mac });
  },
};

/** A macvlan driver for one controller. */
export const macvlanDriver = (ctx: DriverContext): NetworkDriver => new LowerDeviceDriver(ctx, MACVLAN);

/** The macvlan options of a podman network (netavark's): its parent device and mode. */
export function podmanMacvlanOptions(o: { parent?: string; mode: MacvlanMode }): Record<string, string> {
  return o.parent ? { parent: o.parent, macvlan_mode: o.mode } : { macvlan_mode: o.mode };
}
