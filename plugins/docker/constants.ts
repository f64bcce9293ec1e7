/** Names Docker and tsnet agree on: the socket, the media type, address spaces and libnetwork's option keys. */

/** Name Docker knows the plugin by (`-d tsnet`, `--ipam-driver tsnet`): the socket file's base name. */
export const PLUGIN_NAME = 'tsnet';

/** Where Docker discovers plugin sockets; run as root, so the socket is only for root (0600). */
export const DEFAULT_SOCKET = `/run/docker/plugins/${PLUGIN_NAME}.sock`;

/** The tsnet driver of the networks the main socket creates (`-d tsnet`). */
export const DEFAULT_DRIVER = 'bridge';

/** Drivers that get a socket of their own beside the main one (`-d tsnet-macvlan`): one driver per socket, as Docker's remote plugins are. */
export const SECOND_DRIVERS = ['macvlan', 'ipvlan'] as const;

/**
 * The socket serving `driver` beside the main socket: same directory, `<name>-<driver>.sock`
 * (/run/docker/plugins/tsnet-macvlan.sock next to tsnet.sock, so Docker knows it as `tsnet-macvlan`).
 */
export function driverSocketPath(mainSocket: string, driver: string): string {
  const dir = mainSocket.slice(0, mainSocket.lastIndexOf('/') + 1);
  const base = mainSocket.slice(dir.length).replace(/\.sock$/, '');
  return `${dir}${base}-${driver}.sock`;
}

/** Media type of every plugin response (Docker's plugins API v1.2). */
export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** Engine name passed to the controller: names the sandboxes and labels the pools the plugin makes. */
export const ENGINE_NAME = 'docker';

/** The address space tsnet's IPAM serves: one per host, as tsnet networks are local. */
export const LOCAL_ADDRESS_SPACE = 'tsnet-local';
/** Reported because Docker asks for it; requests in it are refused (tsnet has no cluster-wide pools yet). */
export const GLOBAL_ADDRESS_SPACE = 'tsnet-global';

/** Prefix Docker's engine appends an index to when it renames the moved interface (eth0, eth1 …). */
export const INTERFACE_PREFIX = 'eth';

/** Largest request body accepted; Docker's requests are a few kilobytes. */
export const MAX_BODY_BYTES = 1 << 20;

/** libnetwork's netlabel keys found in request options. */
export const DockerLabel = {
  generic: 'com.docker.network.generic',
  enableIpv6: 'com.docker.network.enable_ipv6',
  internal: 'com.docker.network.internal',
  portMap: 'com.docker.network.portmap',
  exposedPorts: 'com.docker.network.endpoint.exposedports',
  macAddress: 'com.docker.network.endpoint.macaddress',
  gateway: 'com.docker.network.gateway',
} as const;

/** The RequestAddress option that says which kind of address Docker wants (value DockerLabel.gateway for gateways). */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';

/** IP protocol numbers Docker's PortBinding.Proto carries. */
export const PROTOCOL_NUMBERS = { tcp: 6, udp: 17, sctp: 132 } as const;
