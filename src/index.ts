/** tsnet's library API: what an engine embeds. Every face (CLI, CNI, Docker plugin) uses only this. */
export { Controller, type ControllerOptions, SANDBOX_EXEC } from './controller/controller';
export type { ConnectOptions } from './controller/endpoint';
export type { SandboxOptions } from './controller/sandbox';
export type { EngineEndpointSpec, EngineIpam, EngineJoinInfo, EngineNetworks, EngineOps, EnginePoolRequest } from './controller/engine';
export { log, type Logger } from './log';
export { type DaemonConfig, defaultStateDir, loadDaemonConfig, parseDaemonConfig } from './config';
export * from './errors';
export type * from './model';
export { driverNames } from './drivers/registry';
export { BridgeOption } from './drivers/bridge/options';
