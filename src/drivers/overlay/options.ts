/** Overlay driver options (Docker's keys) and the typed facts of an overlay network. */
import { InvalidArgumentError, UnsupportedError } from '../../errors';
import type { Network, NetworkInfo, NetworkSpec } from '../../model';
import { gatewayBridgeOptions } from '../bridge/options';
import { GENERIC_OPTIONS } from '../generic-options';

/** Docker's overlay option keys. */
export const OverlayOption = {
  vxlanIds: 'com.docker.network.driver.overlay.vxlanid_list',
  mtu: 'com.docker.network.driver.mtu',
  encrypted: 'encrypted',
} as const;

/** VNIs tsnet allocates from (Docker's overlay starts at 4096, below are left to operators), up to the 24-bit maximum. */
export const VNI_MIN = 4096;
export const VNI_MAX = 16777215;
/** Name of the overlay's id pool (NetworkInfo.idPool): its VNIs. */
export const VNI_POOL = 'vni';
/** The per-host gateway bridge network every overlay sandbox also joins (Docker's docker_gwbridge). */
export const GATEWAY_NETWORK = 'tsnet_gwbridge';

/** The overlay's options, typed. */
export interface OverlayConfig {
  vnis?: number[];
  mtu?: number;
}

/** Parses the options; throws naming a bad, unknown or unsupported key. */
export function parseOverlayOptions(options: Record<string, string>): OverlayConfig {
  for (const key of Object.keys(options)) {
    if (key === OverlayOption.encrypted) throw new UnsupportedError('option encrypted is not supported by tsnet\'s overlay driver (this build has no IPsec data path)');
    if (![OverlayOption.vxlanIds, OverlayOption.mtu, ...GENERIC_OPTIONS].includes(key)) {
      throw new InvalidArgumentError(`unknown option "${key}" for the overlay driver: accepted keys are ${OverlayOption.vxlanIds}, ${OverlayOption.mtu}`);
    }
  }
  const cfg: OverlayConfig = {};
  const list = options[OverlayOption.vxlanIds];
  if (list !== undefined) {
    cfg.vnis = list.split(',').map((v) => {
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < 1 || n > VNI_MAX) throw new InvalidArgumentError(`invalid option ${OverlayOption.vxlanIds}="${list}": "${v}" is not a VNI (1 to ${VNI_MAX})`);
      return n;
    });
    if (new Set(cfg.vnis).size !== cfg.vnis.length) throw new InvalidArgumentError(`invalid option ${OverlayOption.vxlanIds}="${list}": a VNI is listed twice`);
  }
  if (options[OverlayOption.mtu] !== undefined) {
    const mtu = Number(options[OverlayOption.mtu]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(`invalid option ${OverlayOption.mtu}="${options[OverlayOption.mtu]}": MTU must be 68 to 65535`);
    cfg.mtu = mtu;
  }
  return cfg;
}

/** The gateway bridge network's spec: masquerade out, icc off so it is no side door between overlay networks. */
export function gatewayNetworkSpec(): NetworkSpec {
  return { name: GATEWAY_NETWORK, driver: 'bridge', options: gatewayBridgeOptions(GATEWAY_NETWORK) };
}

/** The typed facts of an overlay network. */
export function overlayInfo(net: Network): NetworkInfo {
  const cfg = parseOverlayOptions(net.options);
  return {
    publishes: true, dns: true, staticAddresses: true, engineEndpoints: false, mtu: cfg.mtu, claims: {},
    defaultRoute: false, egress: gatewayNetworkSpec(),
    // One VNI per subnet, as Docker: the requested ones, or the lowest free from 4096.
    idPool: { name: VNI_POOL, min: VNI_MIN, max: VNI_MAX, count: 0, requested: cfg.vnis },
  };
}
