/** The host driver: sandboxes on the `host` network use the host's own stack, so nothing is created. */
import { InvalidArgumentError } from '../errors';
import type { Network } from '../model';
import type { DriverCapabilities, EndpointInterface, JoinInfo, NetworkDriver } from './driver';

/** Driver of the single `host` network. */
export class HostDriver implements NetworkDriver {
  readonly name = 'host';
  readonly capabilities: DriverCapabilities = { scope: 'local', needsIpam: false, dns: false, sandboxMode: 'host' };

  validateNetwork(net: Network): Record<string, string> {
    if (!net.options['com.docker.network.default']) throw new InvalidArgumentError('driver host: only one instance of "host" network is allowed');
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
