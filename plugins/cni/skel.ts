/**
 * The plugin protocol, independent of what the plugin does (libcni's skel): CNI_* variables and the
 * config on stdin in; the result or the spec's error JSON on stdout and an exit code out. The IO is
 * injected, so tests run every command in-process.
 */
import { CniCode, CniError, errorJson } from './codes';
import { decodeResult, encodeResult, type CniResult } from './result';
import { checkVersion, isSupported, LATEST_VERSION, SUPPORTED_VERSIONS, type CniCommand, type CniVersion } from './version';

/** One parsed invocation, as a handler receives it. */
export interface CniRequest {
  command: Exclude<CniCommand, 'VERSION'>;
  /** CNI_CONTAINERID (ADD, DEL, CHECK). */
  containerId: string;
  /** CNI_NETNS; may be empty for DEL, GC and STATUS. */
  netns: string;
  /** CNI_IFNAME (ADD, DEL, CHECK). */
  ifname: string;
  /** CNI_ARGS as ordered key/value pairs. */
  args: [string, string][];
  /** CNI_PATH, split. */
  path: string[];
  /** The config's spec version: results and errors are written in it. */
  cniVersion: CniVersion;
  /** The config as decoded from stdin (the handler validates its own keys). */
  config: Record<string, unknown>;
  /** The previous plugin's result, decoded, when the config carries one. */
  prevResult?: CniResult;
}

/** What a plugin does per command (STYLE §2's face contract); VERSION is answered by runCni itself. */
export interface CniHandlers {
  /** Attaches the container; returns what was made, in the internal result shape. */
  add(req: CniRequest): Promise<CniResult>;
  /** Detaches; idempotent. */
  del(req: CniRequest): Promise<void>;
  /** Throws when the attachment drifted from req.prevResult. */
  check(req: CniRequest): Promise<void>;
  /** Throws (code 50) when the plugin cannot take ADDs. */
  status(req: CniRequest): Promise<void>;
  /** Removes every attachment of the network not listed as valid. */
  gc(req: CniRequest): Promise<void>;
}

/** Where runCni reads and writes: process.* in the binary, buffers in tests. */
export interface CniIo {
  env: Record<string, string | undefined>;
  stdin: string | Buffer | AsyncIterable<Buffer | string>;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];
/** Which variables each command needs (skel's reqForCmd table). */
const REQUIRED: Record<string, readonly CniCommand[]> = {
  CNI_CONTAINERID: ['ADD', 'DEL', 'CHECK'],
  CNI_NETNS: ['ADD', 'CHECK'],
  CNI_IFNAME: ['ADD', 'DEL', 'CHECK'],
  CNI_PATH: ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'],
};
/** Container ids as the spec allows them. */
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks an interface name against the spec (1-15 chars, not . or .., no / : or whitespace). */
export function checkIfname(name: string): void {
  if (name.length > 15 || name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_IFNAME "${name}": must be 1-15 characters, not "." or "..", without "/", ":" or whitespace`);
  }
}

/** Parses CNI_ARGS ("K1=V1;K2=V2"); a pair without "=" or with an empty key is code 4. */
export function parseCniArgs(text: string | undefined): [string, string][] {
  if (!text) return [];
  return text.split(';').filter(Boolean).map((pair) => {
    const i = pair.indexOf('=');
    if (i < 1) throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_ARGS pair "${pair}": expected KEY=VALUE`);
    return [pair.slice(0, i), pair.slice(i + 1)];
  });
}

/** Reads and checks the CNI_* variables for the command; missing or malformed ones are code 4. */
function readEnv(env: CniIo['env']): Omit<CniRequest, 'cniVersion' | 'config' | 'prevResult'> | { command: 'VERSION' } {
  const command = env.CNI_COMMAND as CniCommand;
  if (!command) throw new CniError(CniCode.InvalidEnvironment, 'required env variable CNI_COMMAND is missing');
  if (!COMMANDS.includes(command)) throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND "${command}": expected one of ${COMMANDS.join(', ')}`);
  if (command === 'VERSION') return { command };
  const missing = Object.entries(REQUIRED).filter(([name, cmds]) => cmds.includes(command) && !env[name]).map(([name]) => name);
  if (missing.length) throw new CniError(CniCode.InvalidEnvironment, `required env variables [${missing.join(' ')}] missing`);
  const containerId = env.CNI_CONTAINERID ?? '';
  if (containerId && !CONTAINER_ID_RE.test(containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_CONTAINERID "${containerId}": must start with a letter or digit, then letters, digits, "_", "." or "-"`);
  }
  const ifname = env.CNI_IFNAME ?? '';
  if (ifname) checkIfname(ifname);
  return { command, containerId, netns: env.CNI_NETNS ?? '', ifname, args: parseCniArgs(env.CNI_ARGS), path: (env.CNI_PATH ?? '').split(':').filter(Boolean) };
}

async function readAll(stdin: CniIo['stdin']): Promise<string> {
  if (typeof stdin === 'string') return stdin;
  if (Buffer.isBuffer(stdin)) return stdin.toString('utf8');
  let text = '';
  try {
    for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  } catch (err) {
    throw new CniError(CniCode.IoFailure, `read config from stdin: ${(err as Error).message}`);
  }
  return text;
}

/** Decodes stdin: not JSON is code 6, JSON that is not an object is code 7. */
function decodeConfig(text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `failed to decode network config: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config: must be a JSON object');
  return raw as Record<string, unknown>;
}

/** Runs one invocation; returns the process exit code (0 success, 1 with the error JSON on stdout). */
export async function runCni(handlers: CniHandlers | (() => Promise<CniHandlers>), io: CniIo): Promise<number> {
  let version: string = LATEST_VERSION;
  try {
    const env = readEnv(io.env);
    if (env.command === 'VERSION') {
      io.stdout.write(JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + '\n');
      return 0;
    }
    const config = decodeConfig(await readAll(io.stdin));
    // Errors are written in the config's version when it is one we speak, as skel does.
    if (isSupported(config.cniVersion)) version = config.cniVersion;
    const req: CniRequest = { ...env, cniVersion: checkVersion(env.command, config.cniVersion), config };
    if (config.prevResult !== undefined && config.prevResult !== null) req.prevResult = decodeResult(config.prevResult);
    const h = typeof handlers === 'function' ? await handlers() : handlers;
    switch (req.command) {
      case 'ADD':
        io.stdout.write(JSON.stringify(encodeResult(await h.add(req), req.cniVersion)) + '\n');
        break;
      case 'DEL': await h.del(req); break;
      case 'CHECK': await h.check(req); break;
      case 'STATUS': await h.status(req); break;
      case 'GC': await h.gc(req); break;
    }
    return 0;
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CniCode.Internal, (err as Error)?.message ?? String(err), (err as Error)?.stack);
    io.stdout.write(JSON.stringify(errorJson(e, version)) + '\n');
    if (io.env.TSNET_DEBUG) io.stderr.write(`tsnet-cni: ${e.code} ${e.message}${e.details ? `\n${e.details}` : ''}\n`);
    return 1;
  }
}
