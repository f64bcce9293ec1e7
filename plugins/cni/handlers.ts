/**
 * tsnet's CniHandlers: each command parses the config first (nothing happens for a bad one), then
 * opens the Controller on the shared store, acts, and maps whatever it threw to a spec error code.
 */
import { performance } from 'node:perf_hooks';
import { Controller, describe, ERROR_CODES, kindOf, log, NetlinkHandle, TsnetError } from '../../src/index';
import { addAttachment, prepareAdd } from './add';
import { checkAttachment, requirePrevResult } from './check';
import { CniCode, CniError, type CniErrorCode } from './codes';
import { type NetConf, parseNetConf, validAttachments } from './config';
import { delAttachment, gcAttachments } from './del';
import { tryNetwork } from './network';
import type { CniHandlers, CniRequest } from './skel';

const debug = log('tsnet:cni');

/** errno codes that mean the machine's storage failed, not tsnet's logic (spec code 5). */
const IO_ERRNOS = new Set(['EIO', 'ENOSPC', 'EROFS', 'EDQUOT']);
/** SQLite codes that mean another process holds the store: worth retrying (spec code 11). */
const BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

/** The first string `code` on err or its causes (an errno or a SQLite code). */
function causeCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Maps any thrown value to a spec error: CniErrors as they are, contention and I/O by cause, tsnet kinds by the shared table. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const code = causeCode(err);
  const msg = describe(err);
  if (code && BUSY_CODES.has(code)) return new CniError(CniCode.TryAgainLater, msg, undefined, { cause: err });
  if (code && IO_ERRNOS.has(code)) return new CniError(CniCode.IoFailure, msg, undefined, { cause: err });
  if (err instanceof TsnetError || err instanceof AggregateError) return new CniError(ERROR_CODES[kindOf(err)].cni as CniErrorCode, msg, undefined, { cause: err });
  return new CniError(CniCode.Internal, msg, err instanceof Error ? err.stack : undefined, { cause: err });
}

/** Where the handlers keep state; defaults as the CLI's (TSNET_STATE_DIR, then /var/lib/tsnet). */
export interface HandlerOptions {
  stateDir?: string;
}

/** A command in two steps: checks that need no state (so a bad request changes nothing), then the work. */
interface Steps<P, T> {
  prepare(conf: NetConf): P;
  act(ctl: Controller, host: NetlinkHandle, prepared: P, conf: NetConf): Promise<T>;
}

/** The plugin's handlers over a Controller opened per invocation (a runtime execs the plugin per command). */
export function tsnetHandlers(opts: HandlerOptions = {}): CniHandlers {
  async function run<P, T>(req: CniRequest, steps: Steps<P, T>): Promise<T> {
    let ctl: Controller | undefined, host: NetlinkHandle | undefined;
    try {
      // performance.now() counts from process start: node and module loading show up in the first figure.
      debug(`${req.command} ${req.containerId} ${req.ifname}: loaded at ${performance.now().toFixed(1)} ms`);
      const conf = parseNetConf(req.config);
      const prepared = steps.prepare(conf);
      // Read-only: restoring every network on each exec would cost time and race a network being made; ensureNetwork restores its own.
      // The resolver daemon is woken only for configs that asked for the embedded DNS.
      ctl = await Controller.open({ stateDir: opts.stateDir, readOnly: true, resolver: conf.dns === true ? 'daemon' : 'none' });
      host = NetlinkHandle.open();
      debug(`controller open at ${performance.now().toFixed(1)} ms`);
      const out = await steps.act(ctl, host, prepared, conf);
      debug(`${req.command} done at ${performance.now().toFixed(1)} ms`);
      return out;
    } catch (err) {
      throw toCniError(err);
    } finally {
      host?.close();
      ctl?.close();
    }
  }
  const none = () => undefined;
  return {
    add: (req) => run(req, { prepare: (conf) => prepareAdd(req, conf), act: (ctl, host, plans) => addAttachment(ctl, host, req, plans) }),
    del: (req) => run(req, { prepare: none, act: (ctl, _host, _p, conf) => delAttachment(ctl, req, conf) }),
    check: (req) => run(req, { prepare: () => requirePrevResult(req), act: (ctl, host, _p, conf) => checkAttachment(ctl, host, req, conf) }),
    gc: (req) => run(req, { prepare: (conf) => validAttachments(conf), act: (ctl, _host, valid, conf) => gcAttachments(ctl, conf, valid) }),
    async status(req) {
      try {
        await run(req, {
          prepare: none,
          act: async (ctl, _host, _p, conf) => {
            if (conf.network && !tryNetwork(ctl, conf.network)) throw new CniError(CniCode.PluginNotAvailable, `network ${conf.network} does not exist: ADD would fail until "tsnet create ${conf.network}"`);
          },
        });
      } catch (err) {
        // A bad config stays a config error; anything else means ADDs cannot be served now.
        const e = err as CniError;
        if (e.code === CniCode.InvalidNetworkConfig || e.code === CniCode.UnsupportedField || e.code === CniCode.PluginNotAvailable) throw e;
        throw new CniError(CniCode.PluginNotAvailable, `tsnet is not ready: ${e.message}`, e.details);
      }
    },
  };
}
