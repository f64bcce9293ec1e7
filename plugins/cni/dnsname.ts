/**
 * podman's CNI backend turns name resolution on for a network (and lets `--network-alias` through)
 * only when the network's conflist chains a plugin of type `dnsname` after the first one. Installed
 * under that name (`tsnet-cni install DIR --name dnsname`), the plugin answers that contract with
 * tsnet's own resolver: tsnet-cni, first in the chain, has already recorded the container's name and
 * aliases and put 127.0.0.11 in the result, so a `dnsname` step passes the result through, after
 * checking that the aliases podman sent it reached the endpoint too. DEL, CHECK and GC have nothing
 * of their own to undo or compare.
 */
import type { Controller } from '../../src/index';
import { sandboxOf } from '../shared/lookup';
import { findContainer } from './attachments';
import { CniCode, CniError } from './codes';
import type { CniResult } from './result';
import type { CniRequest } from './skel';

/** The config type podman looks for. */
export const DNSNAME_TYPE = 'dnsname';

const invalid = (msg: string) => new CniError(CniCode.InvalidNetworkConfig, `invalid network config: dnsname: ${msg}`);

/** Whether the config is a `dnsname` step of a chain. */
export function isDnsnameConfig(config: Record<string, unknown>): boolean {
  return config.type === DNSNAME_TYPE;
}

/** The aliases the runtime sent this step for the config's network. */
function requestedAliases(req: CniRequest): string[] {
  const aliases = (req.config.runtimeConfig as { aliases?: unknown } | undefined)?.aliases;
  const name = String(req.config.name);
  if (Array.isArray(aliases)) return aliases.filter((a): a is string => typeof a === 'string');
  const mine = aliases && typeof aliases === 'object' ? (aliases as Record<string, unknown>)[name] : undefined;
  return Array.isArray(mine) ? mine.filter((a): a is string => typeof a === 'string') : [];
}

/** Checks before anything is read: a dnsname step follows tsnet-cni and has its result. */
export function prepareDnsname(req: CniRequest): CniResult {
  if (!req.prevResult) throw invalid('it follows tsnet-cni in a conflist and needs its prevResult');
  return req.prevResult;
}

/** ADD: the previous result, once the container's endpoint is known to carry the aliases asked for. */
export async function dnsnameAdd(ctl: Controller, req: CniRequest, prev: CniResult): Promise<CniResult> {
  const sb = await sandboxOf(ctl, await findContainer(ctl, req.containerId));
  if (!sb) throw invalid(`container ${req.containerId} has no tsnet-cni attachment: chain dnsname after tsnet-cni`);
  const ep = (await ctl.sandboxEndpoints(sb.id)).find((e) => e.ifname === req.ifname);
  if (!ep) throw invalid(`container ${req.containerId} has no interface ${req.ifname} made by tsnet-cni`);
  const missing = requestedAliases(req).filter((a) => !ep.aliases.includes(a) && a !== sb.name);
  if (missing.length) throw invalid(`aliases ${missing.join(', ')} did not reach tsnet-cni: declare "capabilities": {"aliases": true} on its plugin too`);
  return prev;
}
