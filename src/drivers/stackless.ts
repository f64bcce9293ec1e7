/** Drivers of the predefined host and none networks: nothing to create, only a mode for the sandbox. */
import { InvalidArgumentError } from '../errors';
import type { Network, NetworkSpec } from '../model';
import type { DriverCapabilities, DriverData, EndpointInterface, JoinInfo, NetworkDriver, NetworkInfo } from './driver';
import { DEFAULT_NETWORK_OPTION, GENERIC_OPTIONS, isPredefined } from './generic-options';

/** The one network of each stackless driver. */
const NETWORK_NAME = { host: 'host', null: 'none' } as const;

/** A driver whose endpoints have no interface: the sandbox keeps the host's stack (host) or loopback only (null). */
class StacklessDriver implements NetworkDriver {
  readonly capabilities: DriverCapabilities;

  constructor(readonly name: 'host' | 'null') {
    this.capabilities = { scope: 'local', needsIpam: false, dns: false, sandboxMode: name === 'host' ? 'host' : 'none' };
  }

  validateNetwork(net: Network): NetworkInfo {
    if (!isPredefined(net)) throw new InvalidArgumentError(`driver ${this.name}: only one instance of "${NETWORK_NAME[this.name]}" network is allowed`);
    for (const key of Object.keys(net.options)) if (!GENERIC_OPTIONS.includes(key)) throw new InvalidArgumentError(`unknown option "${key}" for the ${this.name} driver: it takes none`);
    return { publishes: false, dns: false, staticAddresses: false, engineEndpoints: false, claims: {}, predefined: true };
  }
  async createNetwork(): Promise<DriverData> {
    return {};
  }
  async deleteNetwork(): Promise<void> {}
  async createEndpoint(): Promise<EndpointInterface> {
    return {};
  }
  async join(): Promise<JoinInfo> {
    return { ifname: '' };
  }
  async leave(): Promise<void> {}
  async deleteEndpoint(): Promise<void> {}
}

/** Driver of the `host` network: the sandbox uses the host's own stack. */
export const hostDriver = (): NetworkDriver => new StacklessDriver('host');
/** Driver of the `none` network: loopback only. */
export const nullDriver = (): NetworkDriver => new StacklessDriver('null');

/** The predefined network of a stackless driver. */
export function stacklessSpec(driver: 'host' | 'null'): NetworkSpec {
  return { name: NETWORK_NAME[driver], driver, options: { [DEFAULT_NETWORK_OPTION]: 'true' } };
}
