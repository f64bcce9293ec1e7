/**
 * A minimal CNI runtime for tests and the benchmark, doing what libcni does: exec plugins by type
 * from bin directories with CNI_* variables and the config on stdin, run a configuration list as a
 * chain (prevResult threaded through ADD, reverse order for DEL), pass runtimeConfig only for
 * declared capabilities, and keep the ADD result for DEL and CHECK.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the Debian containernetworking-plugins package puts the reference plugins. */
export const REFERENCE_BIN_DIR = '/usr/lib/cni';

/** One plugin exec: exit code, output, the parsed JSON when stdout held some, wall time. */
export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown>;
  ms: number;
}

/** The CNI_* variables of one invocation. */
export interface CniEnv {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  /** Extra variables (or overrides, e.g. to leave one out with undefined). */
  extra?: Record<string, string | undefined>;
}

/** Runs the executable file with env and stdin, exactly as a runtime does. */
export function execFile(file: string, env: CniEnv, stdin: string | object, binDirs: string[]): Promise<PluginRun> {
  const vars: Record<string, string | undefined> = {
    ...process.env,
    CNI_COMMAND: env.command,
    CNI_CONTAINERID: env.containerId,
    CNI_NETNS: env.netns,
    CNI_IFNAME: env.ifname,
    CNI_ARGS: env.args,
    CNI_PATH: binDirs.join(':'),
    ...env.extra,
  };
  for (const k of Object.keys(vars)) if (vars[k] === undefined) delete vars[k];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: vars as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json, ms });
    });
    child.stdin.on('error', () => undefined); // a plugin may exit without reading stdin (VERSION)
    child.stdin.end(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  });
}

/** The executable for a plugin type, searched in binDirs as runtimes search CNI_PATH. */
export function findPlugin(type: string, binDirs: string[]): string {
  for (const dir of binDirs) {
    const file = path.join(dir, type);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`plugin ${type} not found in ${binDirs.join(':')}`);
}

/** A configuration list. */
export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** Per-attachment data a runtime keeps between commands. */
export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
  args?: string;
  /** Capability arguments (portMappings, ips, mac, dns, aliases …). */
  runtimeConfig?: Record<string, unknown>;
  /** The cached ADD result, set by ADD, used by CHECK and DEL. */
  result?: Record<string, unknown>;
}

/** The config one plugin of the list receives. */
function pluginConfig(list: ConfList, plugin: Record<string, unknown>, att: Attachment, prevResult?: Record<string, unknown>): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const rc = Object.fromEntries(Object.entries(att.runtimeConfig ?? {}).filter(([k]) => caps[k]));
  if (Object.keys(rc).length) conf.runtimeConfig = rc;
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

/** Result of a chain run: the final result, or the failing plugin's error and every exec's timing. */
export interface ChainRun {
  ok: boolean;
  result?: Record<string, unknown>;
  error?: Record<string, unknown>;
  failedPlugin?: string;
  runs: PluginRun[];
  ms: number;
}

/**
 * Runs ADD, DEL or CHECK over the list as libcni does; ADD stores the result in att.result, DEL clears
 * it. extra: variables added to every plugin's environment (a runtime's own environment).
 */
export async function runList(list: ConfList, command: 'ADD' | 'DEL' | 'CHECK', att: Attachment, binDirs: string[], extra: CniEnv['extra'] = {}): Promise<ChainRun> {
  const started = process.hrtime.bigint();
  const order = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
  const runs: PluginRun[] = [];
  let prev = command === 'ADD' ? undefined : att.result;
  const done = (r: Omit<ChainRun, 'runs' | 'ms'>): ChainRun => ({ ...r, runs, ms: Number(process.hrtime.bigint() - started) / 1e6 });
  for (const plugin of order) {
    const env: CniEnv = { command, containerId: att.containerId, netns: att.netns, ifname: att.ifname, args: att.args, extra };
    const run = await execFile(findPlugin(String(plugin.type), binDirs), env, pluginConfig(list, plugin, att, prev), binDirs);
    runs.push(run);
    if (run.code !== 0) return done({ ok: false, error: run.json ?? { msg: run.stdout + run.stderr }, failedPlugin: String(plugin.type) });
    if (command === 'ADD') prev = run.json;
  }
  if (command === 'ADD') att.result = prev;
  if (command === 'DEL') att.result = undefined;
  return done({ ok: true, result: command === 'ADD' ? prev : undefined });
}

/** Runs GC (spec 1.1) over the list with the valid attachments. */
export async function gcList(list: ConfList, valid: { containerID: string; ifname: string }[], binDirs: string[]): Promise<ChainRun> {
  const started = process.hrtime.bigint();
  const runs: PluginRun[] = [];
  for (const plugin of list.plugins) {
    const conf = { ...plugin, cniVersion: list.cniVersion, name: list.name, 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid };
    const run = await execFile(findPlugin(String(plugin.type), binDirs), { command: 'GC' }, conf, binDirs);
    runs.push(run);
    if (run.code !== 0) return { ok: false, error: run.json, failedPlugin: String(plugin.type), runs, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  }
  return { ok: true, runs, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}
