/** Bridge driver options: Docker's com.docker.network.* keys, the short forms tsnet accepts, parsing and validation. */
import type { DaemonConfig } from '../../config';
import { InvalidArgumentError, UnsupportedError } from '../../errors';
import { bigIntToIp, canonicalSubnet, family, networkOf, splitCidr } from '../../kernel/addr';
import type { IpamConfig, NetworkSpec } from '../../model';
import { validateIfname } from '../../names';
import { DEFAULT_NETWORK_OPTION, GENERIC_OPTIONS } from '../generic-options';

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

/** Real Docker bridge keys tsnet does not implement: refused by name rather than silently ignored. */
const UNSUPPORTED = [
  'com.docker.network.bridge.gateway_mode_ipv4',
  'com.docker.network.bridge.gateway_mode_ipv6',
  'com.docker.network.bridge.inhibit_ipv4',
  'com.docker.network.bridge.trusted_host_interfaces',
  'com.docker.network.container_iface_prefix',
  'com.docker.network.enable_ipv4',
];

/** Every key the bridge driver accepts, for error messages and the README. */
export const BRIDGE_KEYS = [...Object.values(BridgeOption), ...GENERIC_OPTIONS];

/** Device name of the default network `bridge`, docker0-style. */
export const DEFAULT_BRIDGE_DEVICE = 'tsnet0';

/** The bridge driver's options, typed. */
export interface BridgeConfig {
  bridgeName: string;
  /** Whether the user named the device (it may exist already and is then adopted, never deleted). */
  named: boolean;
  mtu?: number;
  masquerade: boolean;
  icc: boolean;
  hostBindingIpv4?: string;
  isDefault: boolean;
}

/** Rewrites short option names to Docker's keys. */
export function normalizeBridgeOptions(options: Record<string, string>): Record<string, string> {
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

/** Refuses keys the bridge driver does not know (a typo would silently leave isolation off) and Docker keys it does not implement. */
function checkKeys(options: Record<string, string>): void {
  for (const key of Object.keys(options)) {
    if (BRIDGE_KEYS.includes(key)) continue;
    if (UNSUPPORTED.includes(key)) throw new UnsupportedError(`option ${key} is not supported by tsnet's bridge driver`);
    throw new InvalidArgumentError(`unknown option "${key}" for the bridge driver: accepted keys are ${BRIDGE_KEYS.join(', ')} (or ${Object.keys(SHORT).join(', ')})`);
  }
}

/**
 * Parses normalized options of a network with the given id; throws InvalidArgument naming the bad
 * option. lenient: accept unknown keys (records written by releases that kept them).
 */
export function parseBridgeOptions(id: string, options: Record<string, string>, lenient = false): BridgeConfig {
  if (!lenient) checkKeys(options);
  const isDefault = options[BridgeOption.defaultBridge] === 'true';
  if (isDefault && options[DEFAULT_NETWORK_OPTION] !== 'true') throw new InvalidArgumentError(`option ${BridgeOption.defaultBridge} is reserved for the predefined network "bridge"`);
  const named = options[BridgeOption.name] !== undefined;
  const bridgeName = options[BridgeOption.name] ?? (isDefault ? DEFAULT_BRIDGE_DEVICE : ownBridgeName(id));
  validateIfname(bridgeName, `bridge name (${BridgeOption.name})`);
  let mtu: number | undefined;
  if (options[BridgeOption.mtu] !== undefined) {
    mtu = Number(options[BridgeOption.mtu]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(`invalid option ${BridgeOption.mtu}="${options[BridgeOption.mtu]}": MTU must be 68 to 65535`);
  }
  const hostBindingIpv4 = options[BridgeOption.hostBindingIpv4];
  if (hostBindingIpv4 !== undefined && !family(hostBindingIpv4)) throw new InvalidArgumentError(`invalid option ${BridgeOption.hostBindingIpv4}="${hostBindingIpv4}": not an IP address`);
  return {
    bridgeName, named, mtu, isDefault, hostBindingIpv4,
    masquerade: parseBool(BridgeOption.masquerade, options[BridgeOption.masquerade], true),
    icc: parseBool(BridgeOption.icc, options[BridgeOption.icc], true),
  };
}

/** Docker's names of the aux addresses that hold the default bridge's default-gateway(-v6) (libnetwork bridge). */
export const DEFAULT_GATEWAY_AUX = { 4: 'DefaultGatewayIPv4', 6: 'DefaultGatewayIPv6' } as const;

/** The first address of a subnet given as a CIDR, as a bridge address: 192.168.1.128/25 → 192.168.1.129. */
function firstHost(subnet: string): string {
  const n = networkOf(subnet);
  return bigIntToIp(n.base + 1n, n.family);
}

/**
 * The predefined network `bridge` from the daemon config, as dockerd's initBridgeDriver and
 * getDefaultBridgeIPAMConf make docker0: bip gives the bridge's address and the subnet, fixed-cidr
 * the range sandboxes get addresses from (the subnet itself without bip), default-gateway an aux
 * address the sandboxes route through; the IPv6 keys count only with "ipv6": true. With "bridge":
 * <name> the operator's bridge is adopted and its IPv4 address (adoptedAddress, as dockerd's
 * selectBIP finds it) stands for bip. Undefined with "bridge": "none".
 */
export function defaultBridgeSpec(cfg: DaemonConfig, adoptedAddress?: string): { spec: NetworkSpec; defaultPool?: string } | undefined {
  if (cfg.bridge === 'none') return undefined;
  const firewall = cfg.iptables !== false;
  const options: Record<string, string> = {
    [DEFAULT_NETWORK_OPTION]: 'true', [BridgeOption.defaultBridge]: 'true', [BridgeOption.name]: cfg.bridge ?? DEFAULT_BRIDGE_DEVICE,
    // Without a firewall there is nothing to masquerade with, as dockerd turns ip-masq off with iptables=false.
    [BridgeOption.masquerade]: String(firewall && cfg['ip-masq'] !== false), [BridgeOption.icc]: String(cfg.icc !== false),
  };
  if (cfg.mtu) options[BridgeOption.mtu] = String(cfg.mtu);
  if (cfg.ip) options[BridgeOption.hostBindingIpv4] = cfg.ip;
  const bip = cfg.bip ?? adoptedAddress;
  const fixed = cfg['fixed-cidr'];
  const v4: IpamConfig = {};
  if (bip) Object.assign(v4, { subnet: canonicalSubnet(bip), gateway: splitCidr(bip).ip });
  else if (fixed) Object.assign(v4, { subnet: canonicalSubnet(fixed), gateway: firstHost(fixed) });
  if (fixed && canonicalSubnet(fixed) !== v4.subnet) v4.ipRange = canonicalSubnet(fixed);
  if (cfg['default-gateway'] && v4.subnet) v4.auxAddresses = { [DEFAULT_GATEWAY_AUX[4]]: cfg['default-gateway'] };
  const ipam: IpamConfig[] = v4.subnet ? [v4] : [];
  const fixed6 = cfg['fixed-cidr-v6'];
  if (cfg.ipv6 && fixed6) {
    const v6: IpamConfig = { subnet: canonicalSubnet(fixed6) };
    if (cfg['default-gateway-v6']) v6.auxAddresses = { [DEFAULT_GATEWAY_AUX[6]]: cfg['default-gateway-v6'] };
    ipam.push(v6);
  }
  // Docker's docker0 takes 172.17.0.0/16 first, unless default-address-pools says otherwise.
  const defaultPool = v4.subnet || cfg['default-address-pools']?.length ? undefined : '172.17.0.0/16';
  return { spec: { name: 'bridge', driver: 'bridge', options, ipam, ipv6: !!cfg.ipv6 }, defaultPool };
}

/** The bridge options a CNI bridge-style config asks for (`bridge`, `mtu`, `ipMasq`), as the CNI face translates them. */
export function cniBridgeOptions(conf: { bridge?: string; mtu?: number; ipMasq?: boolean }): Record<string, string> {
  const options: Record<string, string> = { [BridgeOption.masquerade]: String(!!conf.ipMasq) };
  if (conf.bridge) options[BridgeOption.name] = conf.bridge;
  if (conf.mtu !== undefined) options[BridgeOption.mtu] = String(conf.mtu);
  return options;
}

/** Where a recorded bridge network differs from what a CNI config asks (only keys the config sets); undefined when compatible. */
export function cniBridgeDifference(net: { id: string; options: Record<string, string> }, want: Record<string, string>, ipMasqGiven: boolean): string | undefined {
  const have = parseBridgeOptions(net.id, net.options, true);
  if (want[BridgeOption.name] && want[BridgeOption.name] !== have.bridgeName) return `bridge ${have.bridgeName}, the config asks for ${want[BridgeOption.name]}`;
  if (want[BridgeOption.mtu] && Number(want[BridgeOption.mtu]) !== have.mtu) return `mtu ${have.mtu ?? 'default'}, the config asks for ${want[BridgeOption.mtu]}`;
  // ipMasq is compared only when the config says it: a CLI-made network keeps its own default.
  const masq = want[BridgeOption.masquerade] === 'true';
  if (ipMasqGiven && masq !== have.masquerade) return `ipMasq ${have.masquerade}, the config asks for ${masq}`;
  return undefined;
}

/** The bridge name tsnet makes from a network's id: no operator's device, so always tsnet's own. */
export const ownBridgeName = (networkId: string): string => `br-${networkId.slice(0, 12)}`;

/** The bridge a Docker engine's network gets (Docker's plugin protocol names it by the network id). */
export function engineBridgeOptions(networkId: string): Record<string, string> {
  return { [BridgeOption.name]: ownBridgeName(networkId) };
}

/** Options of a bridge that serves as another driver's way out (the overlay's gateway bridge): masquerade on, icc off. */
export function gatewayBridgeOptions(bridgeName: string): Record<string, string> {
  return { [BridgeOption.name]: bridgeName, [BridgeOption.masquerade]: 'true', [BridgeOption.icc]: 'false' };
}

/** The bridge options of a podman network (netavark's): podman's device name, masquerade on, its mtu option when set. */
export function podmanBridgeOptions(o: { device: string; mtu?: number }): Record<string, string> {
  const options: Record<string, string> = { [BridgeOption.name]: o.device, [BridgeOption.masquerade]: 'true' };
  if (o.mtu) options[BridgeOption.mtu] = String(o.mtu);
  return options;
}
