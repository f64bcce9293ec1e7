/** What every CLI command shares: opening the controller, repeatable options, output, error exit. */
import type { Command } from 'commander';
import { cliContext, err, out } from './io';
import type { Controller } from '../index';
import { core, invalid } from './lazy';

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parses repeated KEY=VALUE options into a map; what names the option for errors; bare: KEY alone means an empty value (Docker's --label). */
export function keyValues(items: string[] = [], what: string, opts: { bare?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    if (opts.bare && i < 0 && item) {
      out[item] = '';
      continue;
    }
    if (i < 1) throw invalid(`invalid ${what} "${item}": expected KEY=VALUE`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Global options of the root command. */
function globals(cmd: Command): { stateDir?: string; firewallBackend?: 'iptables' | 'nftables' } {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts();
}

/**
 * Runs fn with an open controller and closes it, whatever happens. Commands that change state get
 * the daemon's resolver sync as notifier: a one-shot process runs no resolver, so names must reach
 * the daemon's before the command reports success (and the daemon is started when none runs).
 */
export async function withController<T>(cmd: Command, fn: (c: Controller) => Promise<T> | T, opts: { readOnly?: boolean } = {}): Promise<T> {
  const { Controller, daemonConfigCopy, daemonNotifier, defaultStateDir, remoteController } = core();
  const g = globals(cmd);
  if (g.firewallBackend && g.firewallBackend !== 'iptables' && g.firewallBackend !== 'nftables') throw invalid(`--firewall-backend ${g.firewallBackend}: must be iptables or nftables`);
  const stateDir = g.stateDir ?? defaultStateDir();
  const notifier = opts.readOnly ? undefined : daemonNotifier(stateDir);
  // On a cluster member, global-scope operations go through the host's daemon (it holds the cluster session and lease).
  // Run by the daemon for the thin client: its controller, already open, kept open.
  const resident = cliContext()?.controller;
  if (resident) {
    if (!opts.readOnly) await resident.reconcile();
    return fn(resident);
  }
  // With a daemon running, the config it runs with (daemon.json may hold edits it has not taken yet).
  const config = daemonConfigCopy(stateDir);
  const c = await Controller.open({ stateDir, config, readOnly: opts.readOnly, firewallBackend: g.firewallBackend, notifier, remote: remoteController(stateDir) });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Inspects refs one after another, in the order given: the first unknown ref fails the command before anything is printed. */
export async function inspectEach(refs: string[], inspect: (ref: string) => Promise<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
  const views: Record<string, unknown>[] = [];
  for (const ref of refs) views.push(await inspect(ref));
  return views;
}

/** Writes JSON to stdout: the only stdout besides tables. */
export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 4) + '\n');
}

/** Prints rows as left-aligned columns, like docker's tables. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] + 3))).join('') + '\n');
}

/** Prints one error line and returns the kind's exit code. */
export function reportError(e: unknown): number {
  const { describe, ERROR_CODES, kindOf } = core();
  err(`tsnet: ${describe(e)}\n`);
  if (process.env.TSNET_DEBUG && e instanceof Error) err(`${e.stack}\n`);
  return ERROR_CODES[kindOf(e)].exit;
}
