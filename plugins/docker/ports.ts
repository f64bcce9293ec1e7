/** Port mappings between Docker's wire form (protocol numbers, HostPortEnd) and tsnet's PortRequest/PortBinding. */
import { InvalidArgumentError, type PortBinding, type PortRequest, type Protocol } from '../../src/index';
import type { DockerPortBinding } from './api';
import { PROTOCOL_NUMBERS } from './constants';

const BY_NUMBER = new Map<number, Protocol>(Object.entries(PROTOCOL_NUMBERS).map(([name, n]) => [n, name as Protocol]));

/** Docker's unspecified addresses mean "every address", which tsnet spells ''. */
function hostIp(ip: string | undefined): string {
  return ip === undefined || ip === '' || ip === '<nil>' ? '' : ip;
}

/** Docker's bindings as tsnet port requests; HostPort 0 asks for a random port, HostPortEnd for a range. */
export function toPortRequests(bindings: DockerPortBinding[]): PortRequest[] {
  return bindings.map((b) => {
    const protocol = BY_NUMBER.get(b.Proto);
    if (!protocol) throw new InvalidArgumentError(`port binding ${b.Port}: unknown IP protocol number ${b.Proto}`);
    const hostPort = b.HostPort ?? 0;
    const hostPortEnd = b.HostPortEnd || hostPort;
    if (hostPortEnd < hostPort) throw new InvalidArgumentError(`port binding ${b.Port}/${protocol}: host port range ${hostPort}-${hostPortEnd} ends before it starts`);
    return { protocol, containerPort: b.Port, hostIp: hostIp(b.HostIP), hostPort, hostPortEnd };
  });
}

/** tsnet's published ports in Docker's form, for EndpointOperInfo. */
export function toDockerBindings(ports: PortBinding[], containerIp?: string): DockerPortBinding[] {
  return ports.map((p) => ({
    Proto: PROTOCOL_NUMBERS[p.protocol], IP: containerIp ?? '', Port: p.containerPort, HostIP: p.hostIp, HostPort: p.hostPort, HostPortEnd: p.hostPort,
  }));
}
