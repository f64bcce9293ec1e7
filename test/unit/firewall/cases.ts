/** Shared inputs of the firewall unit tests: networks and endpoints as the controller passes them. */
import type { FirewallEndpoint, FirewallNetwork } from '../../../src/firewall/firewall';

/** A NAT'd IPv4 network with icc, Docker's default bridge settings. */
export const NAT_NET: FirewallNetwork = { id: 'net-nat', name: 'web', bridge: 'br-web', subnets: ['172.18.0.0/16'], internal: false, masquerade: true, icc: true };
/** Dual-stack, icc off, no masquerade. */
export const DUAL_NET: FirewallNetwork = { id: 'net-dual', name: 'dual', bridge: 'br-dual', subnets: ['172.19.0.0/24', 'fd00:19::/64'], internal: false, masquerade: false, icc: false };
/** Internal network: no outside. */
export const INTERNAL_NET: FirewallNetwork = { id: 'net-int', name: 'db', bridge: 'br-db', subnets: ['172.20.0.0/16'], internal: true, masquerade: true, icc: true };

/** An endpoint of DUAL_NET publishing every form: any address, loopback, a v6 address, udp, sctp, two host ports on one container port. */
export const DUAL_EP: FirewallEndpoint = {
  id: 'ep-dual',
  networkId: DUAL_NET.id,
  bridge: DUAL_NET.bridge,
  ipv4: '172.19.0.2',
  ipv6: 'fd00:19::2',
  ports: [
    { protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080 },
    { protocol: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 8081 },
    { protocol: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostPort: 5353 },
    { protocol: 'sctp', containerPort: 9, hostIp: 'FD00:19::1', hostPort: 9999 },
  ],
};
