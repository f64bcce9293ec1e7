/** Driver name → factory (libnetwork's drivers_linux.go): the one place drivers are registered. */
import type { DaemonConfig } from '../config';
import { InvalidArgumentError } from '../errors';
import type { NetworkSpec } from '../model';
import { BridgeDriver } from './bridge';
import { defaultBridgeSpec } from './bridge/options';
import type { DriverContext, NetworkDriver } from './driver';
import { ipvlanDriver } from './ipvlan';
import { macvlanDriver } from './macvlan';
import { overlayDriver } from './overlay';
import { hostDriver, nullDriver, stacklessSpec } from './stackless';

const FACTORIES: Record<string, (ctx: DriverContext) => NetworkDriver> = {
  bridge: (ctx) => new BridgeDriver(ctx),
  host: hostDriver,
  null: nullDriver,
  macvlan: macvlanDriver,
  ipvlan: ipvlanDriver,
  overlay: overlayDriver,
};

/** Names a user may pass to `-d`. */
export function driverNames(): string[] {
  return Object.keys(FACTORIES);
}

/** Instantiates every registered driver for one controller. */
export function createDrivers(ctx: DriverContext): Map<string, NetworkDriver> {
  return new Map(Object.entries(FACTORIES).map(([name, make]) => [name, make(ctx)]));
}

/** The driver called name, or InvalidArgument naming the known ones. */
export function getDriver(drivers: Map<string, NetworkDriver>, name: string): NetworkDriver {
  const d = drivers.get(name);
  if (!d) throw new InvalidArgumentError(`unknown driver "${name}": known drivers are ${[...drivers.keys()].join(', ')}`);
  return d;
}

/**
 * The networks that always exist (Docker's bridge, host and none), as their drivers define them from
 * the daemon config; no bridge with "bridge": "none". adoptedAddress: the IPv4 address of the bridge
 * "bridge": <name> adopts.
 */
export function predefinedNetworks(cfg: DaemonConfig, adoptedAddress?: string): { spec: NetworkSpec; defaultPool?: string }[] {
  const bridge = defaultBridgeSpec(cfg, adoptedAddress);
  return [...(bridge ? [bridge] : []), { spec: stacklessSpec('host') }, { spec: stacklessSpec('null') }];
}
