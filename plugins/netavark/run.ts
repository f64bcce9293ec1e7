/**
 * One netavark invocation, with its io injected (tests run it in-process): arguments, then the options
 * (schema, then every network's plan), then the Controller and the work. Whatever fails is printed
 * as netavark's `{"error": …}` on stdout with exit code 1, and nothing is left half-made.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Controller, daemonNotifier, defaultStateDir, log } from '../../src/index';
import { type NetavarkArgs, parseArgs } from './args';
import { type NetworkOptions, parseNetworkOptions } from './contract';
import { errorJson, messageOf, NetavarkError } from './errors';
import { setupPlan } from './plan';
import { setupContainer } from './setup';
import { teardownContainer } from './teardown';
import { versionInfo } from './version';

const debug = log('tsnet:netavark');

/** What an invocation reads and writes. */
export interface NetavarkIo {
  env: NodeJS.ProcessEnv;
  /** The whole of stdin. */
  readStdin(): Promise<string>;
  stdout: { write(s: string): unknown };
  /** An open Controller to act through (the daemon's); never closed here. Default: one opened per call. */
  controller?: Controller;
  /** With controller: applies the store to the resolver, after a command on a network that serves names. */
  syncResolver?: () => Promise<void>;
}

/** The options, from --file or stdin. */
async function readOptions(args: NetavarkArgs, io: NetavarkIo): Promise<NetworkOptions> {
  let text: string;
  try {
    text = args.file ? fs.readFileSync(args.file, 'utf8') : await io.readStdin();
  } catch (err) {
    throw new NetavarkError(`failed to load network options: IO error: ${(err as Error).message}`);
  }
  return parseNetworkOptions(text);
}

/** Runs body over a Controller on the state directory; the resolver is synced (started when none runs) when a network serves names. */
async function withController<T>(io: NetavarkIo, dns: boolean, body: (ctl: Controller) => Promise<T>): Promise<T> {
  if (io.controller) {
    try {
      return await body(io.controller);
    } finally {
      // Also after a failure: a setup that undid itself has taken names back. The daemon logs a
      // failed reconcile itself, and one must not replace the call's outcome.
      if (dns && io.syncResolver) await io.syncResolver().catch(() => undefined);
    }
  }
  const stateDir = io.env.TSNET_STATE_DIR || defaultStateDir();
  // Read-only open: only the networks this call uses are restored (ensurePodmanNetwork).
  // performance.now() counts from process start: node and module loading show in the first figure.
  debug(`opening the controller at ${performance.now().toFixed(1)} ms`);
  const ctl = await Controller.open({ stateDir, readOnly: true, notifier: dns ? daemonNotifier(stateDir) : undefined });
  debug(`controller open at ${performance.now().toFixed(1)} ms`);
  try {
    return await body(ctl);
  } finally {
    debug(`done at ${performance.now().toFixed(1)} ms`);
    await ctl.close();
  }
}

/** Does the command; returns what goes on stdout. */
async function execute(args: NetavarkArgs, io: NetavarkIo): Promise<string> {
  if (args.verb === 'version') return `${JSON.stringify(versionInfo(), null, 2)}\n`;
  if (args.rootless) throw new NetavarkError('tsnet-netavark: rootless networking is not supported yet: run podman as root, or use the real netavark for rootless containers');
  if (args.verb === 'update') throw new NetavarkError('tsnet-netavark: update (network dns servers) is not supported');
  const opts = await readOptions(args, io);
  const dns = Object.values(opts.network_info).some((n) => n.dns_enabled);
  if (args.verb === 'teardown') {
    await withController(io, dns, (ctl) => teardownContainer(ctl, opts));
    return '';
  }
  if (!fs.existsSync(args.netns!)) throw new NetavarkError(`invalid namespace path: IO error: No such file or directory (os error 2)`);
  const plan = setupPlan(opts);
  const status = await withController(io, plan.networks.some((n) => n.dns), (ctl) => setupContainer(ctl, args.netns!, plan));
  return `${JSON.stringify(status)}\n`;
}

/** Runs one invocation; returns the exit code. */
export async function runNetavark(argv: string[], io: NetavarkIo): Promise<number> {
  try {
    const args = parseArgs(argv);
    debug(`${args.verb} ${args.netns ?? ''}`);
    io.stdout.write(await execute(args, io));
    return 0;
  } catch (err) {
    debug(`failed: ${(err as Error)?.stack ?? String(err)}`);
    io.stdout.write(`${errorJson(messageOf(err))}\n`);
    return err instanceof NetavarkError ? err.exitCode : 1;
  }
}
