/**
 * tsnet as a Docker remote network driver and IPAM driver: `docker network create -d tsnet
 * --ipam-driver tsnet …`. Every call goes to the controller's engine operations, so networks made
 * through Docker live in the same store as the CLI's and CNI's (`tsnet ls` shows them). Docker's
 * remote plugins are one driver per socket, so macvlan is served on a second socket
 * (`-d tsnet-macvlan`, startDockerPlugin with driver 'macvlan').
 */
import type { Controller, EngineOps } from '../../src/index';
import { DEFAULT_DRIVER, DEFAULT_SOCKET, ENGINE_NAME } from './constants';
import { ipamDriverRoutes } from './ipam-driver';
import { networkDriverRoutes } from './network-driver';
import { bodyless, type Routes } from './protocol';
import { serveRoutes } from './server';

export { DEFAULT_DRIVER, DEFAULT_SOCKET, driverSocketPath, PLUGIN_NAME, SECOND_DRIVERS } from './constants';
export { handlePluginRequest, type PluginResponse, type Routes } from './protocol';
export { networkName } from './network-driver';

/**
 * Every call of the plugin, answering from the engine operations given. The bridge socket serves
 * the NetworkDriver and the IpamDriver; another driver's socket serves its NetworkDriver only (its
 * networks take `--ipam-driver tsnet` from the bridge socket).
 */
export function dockerPluginRoutes(engine: EngineOps, driver: string = DEFAULT_DRIVER): Routes {
  if (driver !== DEFAULT_DRIVER) {
    return { '/Plugin.Activate': bodyless(() => ({ Implements: ['NetworkDriver'] })), ...networkDriverRoutes(engine, driver) };
  }
  return {
    '/Plugin.Activate': bodyless(() => ({ Implements: ['NetworkDriver', 'IpamDriver'] })),
    ...networkDriverRoutes(engine),
    ...ipamDriverRoutes(engine),
  };
}

/** What startDockerPlugin needs: an open controller (the caller closes it) and where to listen. */
export interface DockerPluginOptions {
  controller: Controller;
  /** Unix socket path; default /run/docker/plugins/tsnet.sock, where Docker discovers plugins. */
  socketPath?: string;
  /**
   * The tsnet driver of networks created through this socket: 'bridge' (default; NetworkDriver and
   * IpamDriver) or another whose endpoints an engine can take, e.g. 'macvlan' (NetworkDriver only;
   * the engine refuses drivers that cannot serve it when a network is created).
   */
  driver?: string;
}

/** A running plugin. */
export interface DockerPlugin {
  /** The socket it serves. */
  readonly socketPath: string;
  /** Stops serving and removes the socket; networks and containers keep working. */
  close(): Promise<void>;
}

/** Serves the plugin until close(); a stale socket file from an earlier run is replaced. */
export async function startDockerPlugin(opts: DockerPluginOptions): Promise<DockerPlugin> {
  const socketPath = opts.socketPath ?? DEFAULT_SOCKET;
  const server = await serveRoutes(dockerPluginRoutes(opts.controller.engine(ENGINE_NAME), opts.driver ?? DEFAULT_DRIVER), socketPath);
  return { socketPath, close: () => server.close() };
}
