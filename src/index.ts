/** tsnet's library API: what an engine embeds. Every face (CLI, CNI, Docker plugin) uses only this. */
export { type AttachmentState, Controller, type ControllerOptions, SANDBOX_EXEC } from './controller/controller';
export type { ChangeNotifier } from './controller/core';
export type { ConnectOptions } from './controller/endpoint';
export type { FaceRecords } from './controller/records';
export type { SandboxOptions } from './controller/sandbox';
export type { EngineEndpointSpec, EngineIpam, EngineJoinInfo, EngineNetworks, EngineOps, EnginePoolRequest } from './controller/engine';
export { log, type Logger } from './log';
export { type DaemonHandle, type ResidentService, runDaemon, runDaemonRole } from './daemon/daemon';
export { type DaemonRole, superviseDaemon } from './daemon/supervisor';
export { daemonNotifier } from './daemon/client';
export { type DaemonConfig, defaultStateDir, loadDaemonConfig, parseDaemonConfig } from './config';
export * from './errors';
export type * from './model';
export { driverNames } from './drivers/registry';
export { BRIDGE_KEYS, cniBridgeDifference, cniBridgeOptions, engineBridgeOptions } from './drivers/bridge/options';
export { type DnsSource, ResolverSync, startResolver } from './dns/sync';
export { bigIntToIp, canonicalSubnet, contains, family, ipToBigInt, networkOf, splitCidr } from './kernel/addr';
export { DNS_LISTEN_ADDRESS } from './dns/constants';
