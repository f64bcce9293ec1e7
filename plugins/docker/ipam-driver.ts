/**
 * Docker's IpamDriver calls (libnetwork docs/ipam.md) on tsnet's store-backed IPAM. Pools and
 * addresses live in the store, so Docker need not replay its requests after a restart.
 */
import { type EngineIpam, InvalidArgumentError, UnsupportedError } from '../../src/index';
import type { ReleaseAddressRequest, ReleasePoolRequest, RequestAddressRequest, RequestPoolRequest } from './api';
import { DockerLabel, GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE, REQUEST_ADDRESS_TYPE } from './constants';
import { bodyless, route, type Routes } from './protocol';

/** RequestPool: checks what Docker's own IPAM checks, then reserves the pool (without a gateway). */
async function requestPool(ipam: EngineIpam, req: RequestPoolRequest): Promise<Record<string, unknown>> {
  if (req.AddressSpace === GLOBAL_ADDRESS_SPACE) throw new UnsupportedError(`address space ${GLOBAL_ADDRESS_SPACE}: tsnet has no cluster-wide pools; use a local network`);
  if (req.AddressSpace !== LOCAL_ADDRESS_SPACE) throw new InvalidArgumentError(`unknown address space "${req.AddressSpace}": tsnet serves ${LOCAL_ADDRESS_SPACE}`);
  if (req.SubPool && !req.Pool) throw new InvalidArgumentError(`sub-pool ${req.SubPool} needs a pool`);
  const pool = await ipam.requestPool({ subnet: req.Pool || undefined, ipRange: req.SubPool || undefined, v6: req.V6 === true });
  return { PoolID: pool.poolId, Pool: pool.subnet, Data: {} };
}

/** The IpamDriver calls of the plugin. */
export function ipamDriverRoutes(ipam: EngineIpam): Routes {
  return {
    // Replay is for IPAM drivers that forget; tsnet's pools survive in the store.
    '/IpamDriver.GetCapabilities': bodyless(() => ({ RequiresMACAddress: false, RequiresRequestReplay: false })),
    '/IpamDriver.GetDefaultAddressSpaces': bodyless(() => ({ LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE, GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE })),
    '/IpamDriver.RequestPool': route<RequestPoolRequest>('ipam', 'RequestPool', (req) => requestPool(ipam, req)),
    '/IpamDriver.ReleasePool': route<ReleasePoolRequest>('ipam', 'ReleasePool', async (req) => {
      await ipam.releasePool(req.PoolID);
      return {};
    }),
    '/IpamDriver.RequestAddress': route<RequestAddressRequest>('ipam', 'RequestAddress', async (req) => {
      const gateway = req.Options?.[REQUEST_ADDRESS_TYPE] === DockerLabel.gateway;
      return { Address: await ipam.requestAddress(req.PoolID, { address: req.Address || undefined, gateway }), Data: {} };
    }),
    '/IpamDriver.ReleaseAddress': route<ReleaseAddressRequest>('ipam', 'ReleaseAddress', async (req) => {
      await ipam.releaseAddress(req.PoolID, req.Address);
      return {};
    }),
  };
}
