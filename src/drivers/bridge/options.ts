/** Bridge driver options: Docker's com.docker.network.* keys, the short forms tsnet accepts, parsing and validation. */
import { InvalidArgumentError } from '../../errors';
import { validateIfname } from '../../names';

/** Docker's option keys for the bridge driver (libnetwork netlabel and bridge constants). */
export const BridgeOption = {
  name: 'com.docker.network.bridge.name',
  mtu: 'com.docker.network.driver.mtu',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  icc: 'com.docker.network.bridge.enable_icc',
  hostBindingIpv4: 'com.docker.network.bridge.host_binding_ipv4',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
} as const;

/** Short option names accepted by `-o` beside Docker's keys. */
const SHORT: Record<string, string> = {
  bridge_name: BridgeOption.name,
  mtu: BridgeOption.mtu,
  enable_ip_masquerade: BridgeOption.masquerade,
  masquerade: BridgeOption.masquerade,
  enable_icc: BridgeOption.icc,
  icc: BridgeOption.icc,
  host_binding_ipv4: BridgeOption.hostBindingIpv4,
};

/** Device name of the default network `bridge`, docker0-style. */
export const DEFAULT_BRIDGE_DEVICE = 'tsnet0';

/** The bridge driver's options, typed. */
export interface BridgeConfig {
  bridgeName: string;
  mtu?: number;
  masquerade: boolean;
  icc: boolean;
  hostBindingIpv4?: string;
}

/** Rewrites short option names to Docker's keys; unknown keys are kept (Docker keeps them too). */
export function normalizeOptions(options: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) out[SHORT[k] ?? k] = v;
  return out;
}

function parseBool(key: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new InvalidArgumentError(`invalid option ${key}="${v}": expected true or false`);
}

/** Whether a network is the predefined default `bridge` (no DNS, no static addresses, Docker's rules). */
export function isDefaultBridge(net: { options: Record<string, string> }): boolean {
  return net.options[BridgeOption.defaultBridge] === 'true';
}

/** Parses normalized options of a network with the given id; throws InvalidArgument naming the bad option. */
export function parseBridgeOptions(id: string, options: Record<string, string>): BridgeConfig {
  const isDefault = options[BridgeOption.defaultBridge] === 'true';
  const bridgeName = options[BridgeOption.name] ?? (isDefault ? DEFAULT_BRIDGE_DEVICE : `br-${id.slice(0, 12)}`);
  validateIfname(bridgeName, `bridge name (${BridgeOption.name})`);
  let mtu: number | undefined;
  if (options[BridgeOption.mtu] !== undefined) {
    mtu = Number(options[BridgeOption.mtu]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(`invalid option ${BridgeOption.mtu}="${options[BridgeOption.mtu]}": MTU must be 68 to 65535`);
  }
  return {
    bridgeName,
    mtu,
    masquerade: parseBool(BridgeOption.masquerade, options[BridgeOption.masquerade], true),
    icc: parseBool(BridgeOption.icc, options[BridgeOption.icc], true),
    hostBindingIpv4: options[BridgeOption.hostBindingIpv4],
  };
}
