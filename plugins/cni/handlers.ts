/**
 * tsnet's CniHandlers: each command parses the config first (nothing happens for a bad one), then
 * opens the Controller on the shared store (or borrows the daemon's), acts, and maps whatever it
 * threw to a spec error code.
 */
import { performance } from 'node:perf_hooks';
import { Controller, daemonConfigCopy, daemonNotifier, defaultStateDir, describe, ERROR_CODES, kindOf, log, TsnetError } from '../../src/index';
import { tryNetwork } from '../shared/lookup';
import { addAttachment, prepareAdd } from './add';
import { checkAttachment, requirePrevResult } from './check';
import { CniCode, CniError, type CniErrorCode } from './codes';
import { type NetConf, parseNetConf, validAttachments, wantsEmbeddedDns } from './config';
import { delAttachment, gcAttachments } from './del';
import { dnsnameAdd, isDnsnameConfig, prepareDnsname } from './dnsname';
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
  /**
   * An open Controller to act through instead of opening one per call (the daemon's: one store
   * connection and firewall for every request it serves). The handlers never close it; stateDir is
   * then the controller's.
   */
  controller?: Controller;
  /**
   * With `controller`: applies the store to the embedded resolver now. Called after each command of
   * a config that wants the embedded resolver, as a per-call controller notifies the daemon, so names resolve once ADD returns.
   */
  syncResolver?: () => Promise<void>;
}

/** A command in two steps: checks that need no state (so a bad request changes nothing), then the work. */
interface Steps<P, T> {
  prepare(conf: NetConf): P;
  act(ctl: Controller, prepared: P, conf: NetConf): Promise<T>;
}

/**
 * The plugin's handlers: over a Controller opened per invocation (a runtime execs the plugin per
 * command), or over opts.controller when the daemon serves the call in-process.
 */
export function tsnetHandlers(opts: HandlerOptions = {}): CniHandlers {
  const shared = opts.controller;
  async function run<P, T>(req: CniRequest, steps: Steps<P, T>): Promise<T> {
    let ctl: Controller | undefined, dns = false;
    // performance.now() counts from process start: node and module loading show up in a one-shot's first figure.
    // In the daemon the process is long-lived, so times count from the call instead.
    const t0 = shared ? performance.now() : 0;
    const at = () => `${(performance.now() - t0).toFixed(1)} ms`;
    try {
      debug(`${req.command} ${req.containerId} ${req.ifname}: ${shared ? 'received in the daemon' : 'loaded'} at ${at()}`);
      const conf = parseNetConf(req.config);
      dns = !isDnsnameConfig(req.config) && wantsEmbeddedDns(conf);
      const prepared = steps.prepare(conf);
      // Read-only: restoring every network on each exec would cost time and race a network being made; ensureNetwork restores its own.
      // The resolver daemon is told of changes (and started) only for configs that asked for the embedded DNS.
      // With a daemon running, the config it runs with, as the CLI's commands use.
      const stateDir = opts.stateDir ?? defaultStateDir();
      ctl = shared ?? (await Controller.open({ stateDir: opts.stateDir, config: daemonConfigCopy(stateDir), readOnly: true, notifier: dns ? daemonNotifier(stateDir) : undefined }));
      debug(`controller open at ${at()}`);
      const out = await steps.act(ctl, prepared, conf);
      debug(`${req.command} done at ${at()}`);
      return out;
    } catch (err) {
      throw toCniError(err);
    } finally {
      if (!shared) await ctl?.close();
      // Also after a failure: an ADD that rolled back has taken back names. The daemon's reconcile
      // logs its own failures, and one here must not replace the command's outcome.
      else if (dns && opts.syncResolver) await opts.syncResolver().catch(() => undefined);
    }
  }
  const none = () => undefined;
  // A `dnsname` step (podman's CNI convention for "this network has DNS") has only ADD's check to do.
  const dnsnameOnly = async (req: CniRequest) => {
    if (isDnsnameConfig(req.config)) parseNetConf(req.config);
    return isDnsnameConfig(req.config);
  };
  return {
    add: (req) => (isDnsnameConfig(req.config)
      ? run(req, { prepare: () => prepareDnsname(req), act: (ctl, prev) => dnsnameAdd(ctl, req, prev) })
      : run(req, { prepare: (conf) => prepareAdd(req, conf), act: (ctl, plans) => addAttachment(ctl, req, plans) })),
    del: async (req) => ((await dnsnameOnly(req)) ? undefined : run(req, { prepare: none, act: (ctl, _p, conf) => delAttachment(ctl, req, conf) })),
    check: async (req) => ((await dnsnameOnly(req)) ? undefined : run(req, { prepare: () => requirePrevResult(req), act: (ctl, _p, conf) => checkAttachment(ctl, req, conf) })),
    gc: async (req) => ((await dnsnameOnly(req)) ? undefined : run(req, { prepare: (conf) => validAttachments(conf), act: (ctl, valid, conf) => gcAttachments(ctl, conf, valid) })),
    async status(req) {
      try {
        await run(req, {
          prepare: none,
          act: async (ctl, _p, conf) => {
            if (conf.network && !(await tryNetwork(ctl, conf.network))) throw new CniError(CniCode.PluginNotAvailable, `network ${conf.network} does not exist: ADD would fail until "tsnet create ${conf.network}"`);
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
