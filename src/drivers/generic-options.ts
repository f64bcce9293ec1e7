/** Option keys every driver accepts: libnetwork's netlabel keys that are not any one driver's. */

/** Marks a predefined network (bridge, host, none); reserved: users may not set it. */
export const DEFAULT_NETWORK_OPTION = 'com.docker.network.default';

/** Keys any driver accepts besides its own. */
export const GENERIC_OPTIONS: readonly string[] = [DEFAULT_NETWORK_OPTION];

/** Whether a network record is one of the predefined networks. */
export function isPredefined(net: { options: Record<string, string> }): boolean {
  return net.options[DEFAULT_NETWORK_OPTION] === 'true';
}
