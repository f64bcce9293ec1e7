/** The ipvlan driver (Docker's `-d ipvlan -o parent=eth0 -o ipvlan_mode=l2|l3|l3s -o ipvlan_flag=bridge|private|vepa`). */
import { InvalidArgumentError } from '../../errors';
import type { DriverContext, NetworkDriver } from '../driver';
import { type ChildKind, LowerDeviceDriver } from '../lower-device';

/** ipvlan modes (linux/if_link.h IPVLAN_MODE_*). */
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
/** ipvlan flags (IPVLAN_F_*), Docker's `ipvlan_flag`. */
export const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'] as const;

function pick<T extends string>(key: string, value: string | undefined, allowed: readonly T[], dflt: T): T {
  const v = value ?? dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new InvalidArgumentError(`invalid option ${key}="${v}": expected one of ${allowed.join(', ')}`);
  return v as T;
}

const IPVLAN: ChildKind = {
  name: 'ipvlan',
  keys: ['ipvlan_mode', 'ipvlan_flag'],
  mode(options) {
    const mode = pick('ipvlan_mode', options.ipvlan_mode, IPVLAN_MODES, 'l2');
    pick('ipvlan_flag', options.ipvlan_flag, IPVLAN_FLAGS, 'bridge');
    // The kernel keeps one ipvlan mode per parent: a network in another mode cannot share it.
    return { claim: `ipvlan-${mode}`, single: false, onLink: mode !== 'l2' };
  },
  async createChild(h, ifname, parentIndex, o) {
    const mode = pick('ipvlan_mode', o.options.ipvlan_mode, IPVLAN_MODES, 'l2');
    const flag = pick('ipvlan_flag', o.options.ipvlan_flag, IPVLAN_FLAGS, 'bridge');
    await h.createIpvlan(ifname, parentIndex, { mode, flag, netnsFd: o.nsFd });
  },
};

/** An ipvlan driver for one controller. */
export const ipvlanDriver = (ctx: DriverContext): NetworkDriver => new LowerDeviceDriver(ctx, IPVLAN);
