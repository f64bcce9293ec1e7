/**
 * tsnet as a Docker remote network driver and IPAM driver: `docker network create -d tsnet
 * --ipam-driver tsnet …`. Every call goes to the controller's engine operations, so networks made
 * through Docker live in the same store as the CLI's and CNI's (`tsnet ls` shows them).
 */
import type { Controller, EngineOps } from '../../src/index';
import { DEFAULT_SOCKET, ENGINE_NAME } from './constants';
import { ipamDriverRoutes } from './ipam-driver';
import { networkDriverRoutes } from './network-driver';
import { bodyless, type Routes } from './protocol';
import { serveRoutes } from './server';

export { DEFAULT_SOCKET, PLUGIN_NAME } from './constants';
export { handlePluginRequest, type PluginResponse, type Routes } from './protocol';
export { networkName } from './network-driver';

/** Every call of the plugin, answering from the engine operations given. */
export function dockerPluginRoutes(engine: EngineOps): Routes {
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
  const server = await serveRoutes(dockerPluginRoutes(opts.controller.engine(ENGINE_NAME)), socketPath);
  return { socketPath, close: () => server.close() };
}
