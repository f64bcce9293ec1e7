/** Drivers of the predefined host and none networks: nothing to create, only a mode for the sandbox. */
import { InvalidArgumentError } from '../errors';
import type { Network } from '../model';
import type { DriverCapabilities, EndpointInterface, JoinInfo, NetworkDriver } from './driver';

/** A driver whose endpoints have no interface: the sandbox keeps the host's stack (host) or loopback only (null). */
class StacklessDriver implements NetworkDriver {
  readonly capabilities: DriverCapabilities;

  constructor(readonly name: 'host' | 'null', private readonly network: string) {
    this.capabilities = { scope: 'local', needsIpam: false, dns: false, sandboxMode: name === 'host' ? 'host' : 'none' };
  }

  validateNetwork(net: Network): Record<string, string> {
    if (!net.options['com.docker.network.default']) throw new InvalidArgumentError(`driver ${this.name}: only one instance of "${this.network}" network is allowed`);
    return {};
  }
  async createNetwork(): Promise<void> {}
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
export const hostDriver = (): NetworkDriver => new StacklessDriver('host', 'host');
/** Driver of the `none` network: loopback only. */
export const nullDriver = (): NetworkDriver => new StacklessDriver('null', 'none');
