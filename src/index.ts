/** tsnet's library API: what an engine embeds. Every face (CLI, CNI, Docker plugin) uses only this. */
export { Controller, type ControllerOptions, SANDBOX_EXEC } from './controller/controller';
export type { ConnectOptions } from './controller/endpoint';
export type { SandboxOptions } from './controller/sandbox';
export type { EngineEndpointSpec, EngineIpam, EngineJoinInfo, EngineNetworks, EngineOps, EnginePoolRequest } from './controller/engine';
export { log, type Logger } from './log';
export { withFileLock } from './kernel/lock';
export { type DaemonHandle, runDaemon } from './daemon/daemon';
export { type DaemonConfig, defaultStateDir, loadDaemonConfig, parseDaemonConfig } from './config';
export * from './errors';
export type * from './model';
export { driverNames } from './drivers/registry';
export { BridgeOption } from './drivers/bridge/options';
export { NetlinkHandle, type LinkInfo, type AddrInfo, type RouteInfo } from './kernel/netlink';
export { bigIntToIp, canonicalSubnet, contains, family, ipToBigInt, networkOf, splitCidr } from './kernel/addr';
export { DNS_LISTEN_ADDRESS } from './dns/constants';
