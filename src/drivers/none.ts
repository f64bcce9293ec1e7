/** The null driver: sandboxes on the `none` network keep loopback only. */
import { InvalidArgumentError } from '../errors';
import type { Network } from '../model';
import type { DriverCapabilities, EndpointInterface, JoinInfo, NetworkDriver } from './driver';

/** Driver of the single `none` network. */
export class NullDriver implements NetworkDriver {
  readonly name = 'null';
  readonly capabilities: DriverCapabilities = { scope: 'local', needsIpam: false, dns: false, sandboxMode: 'none' };

  validateNetwork(net: Network): Record<string, string> {
    if (!net.options['com.docker.network.default']) throw new InvalidArgumentError('driver null: only one instance of "none" network is allowed');
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
