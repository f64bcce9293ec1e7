/**
 * The thin client's protocol (src/cli/shim/tsnet.c ↔ the daemon's cli.sock), in the CNI shim's
 * framing: one command per connection, every field length-prefixed (u32 big-endian).
 *
 *   request  "TSN1" | u32 n | env: "KEY=VALUE\0"… | u32 n | cwd | u32 n | argv: "ARG\0"…
 *   ack      "R" (read-only: safe to run again) or "A" (changes state), once the daemon runs it;
 *            no ack (the connection closes): the daemon declined, the client runs the command itself
 *   reply    u32 exit code | u32 n | stdout | u32 n | stderr
 *
 * Lost after an "A", the command may have run: the client reports that and never runs it again.
 */
import * as path from 'node:path';
import { decodeEnv, encodeEnv, encodeExecReply, frame, readFields, type RequestShape } from '../../plugins/shared/framing';

/** First bytes of a request. */
export const CLI_MAGIC = Buffer.from('TSN1');
/** Acks: the command runs and only reads, or runs and may change state. */
export const ACK_READ_ONLY = Buffer.from('R');
export const ACK_CHANGE = Buffer.from('A');
/** Bound on each field (an argv or environment is kilobytes). */
export const MAX_FIELD = 1 << 20;
/** The daemon's CLI socket in a state directory. */
export const CLI_SOCKET = 'cli.sock';

/** A decoded request. */
export interface CliRequest {
  env: Record<string, string>;
  cwd: string;
  argv: string[];
}

/** The request's fields after its magic: env, cwd, argv. */
const SHAPE: RequestShape = { magic: CLI_MAGIC, what: 'tsnet CLI', fields: Array.from({ length: 3 }, () => ({ name: 'request field', max: MAX_FIELD })) };

/** Encodes a request as the shim sends it (tests, benches). */
export function encodeCliRequest(req: CliRequest): Buffer {
  const argv = Buffer.from(req.argv.map((a) => `${a}\0`).join(''));
  return frame(CLI_MAGIC, [encodeEnv(req.env), Buffer.from(req.cwd), argv]);
}

/** Encodes the reply sent after the ack. */
export const encodeCliReply = encodeExecReply;

/** Decodes a whole request; undefined while more bytes are needed; throws on anything malformed. */
export function decodeCliRequest(buf: Buffer): CliRequest | undefined {
  const fields = readFields(buf, SHAPE);
  if (!fields) return undefined;
  // Every argument ends in a NUL, an empty one too.
  const argv = fields[2].toString('utf8').split('\0').slice(0, -1);
  return { env: decodeEnv(fields[0]), cwd: fields[1].toString('utf8'), argv };
}

/**
 * Variables that change what a command does: a client whose values differ from the daemon's runs the
 * command itself. TSNET_CONFIG is not one: with a daemon running, a command takes the daemon's config
 * copy whichever file it names (src/daemon/config-copy.ts); DaemonIdentity.config judges that copy.
 */
export const BEHAVIOUR_ENV = ['TSNET_FIREWALL_BACKEND', 'TSNET_FIREWALL_LOCK', 'TSNET_HOST_RESOLV_CONF', 'TSNET_NETNS_DIR', 'TSNET_DEBUG', 'DEBUG'];
/** Pseudo-variables the shim adds: the inode numbers of its network and mount namespaces. */
export const NS_ENV = { net: 'TSNET_CLIENT_NETNS', mnt: 'TSNET_CLIENT_MNTNS' } as const;

/** What the daemon is, for comparing a client with it. */
export interface DaemonIdentity {
  stateDir: string;
  env: Record<string, string | undefined>;
  netns: string;
  mntns: string;
  /**
   * The daemon config as the daemon runs with it and as a command run directly would take it (the
   * daemon's published copy; undefined when there is none, the daemon starting or stopping), as
   * JSON: the daemon runs a command only when the two are the same (a SIGHUP reload in between is not).
   */
  config: { running: string; copy: string | undefined };
}

/** Commands that only read (and help): the client may run them again if the daemon dies meanwhile. */
const READ_ONLY = new Set(['ls', 'list', 'inspect', 'port', 'help']);

/**
 * How the daemon takes a request: 'decline' (the client runs it itself: other state directory,
 * config, namespaces or debug settings; a command that runs a process in the caller's terminal),
 * 'read-only', or 'change'. The config a command would load directly is the daemon's copy (the state
 * directory being the daemon's, checked here): without one, or with one the daemon does not run
 * with, the client runs the command itself.
 */
export function routeCommand(req: CliRequest, daemon: DaemonIdentity): 'decline' | 'read-only' | 'change' {
  if (req.env[NS_ENV.net] !== daemon.netns || req.env[NS_ENV.mnt] !== daemon.mntns) return 'decline';
  for (const k of BEHAVIOUR_ENV) if ((req.env[k] ?? '') !== (daemon.env[k] ?? '')) return 'decline';
  if (daemon.config.copy === undefined || daemon.config.copy !== daemon.config.running) return 'decline';
  let stateDir = req.env.TSNET_STATE_DIR || '/var/lib/tsnet';
  const words: string[] = [];
  let help = false;
  for (let i = 0; i < req.argv.length; i++) {
    const a = req.argv[i];
    if (a === '--') break;
    if (a === '--state-dir' || a.startsWith('--state-dir=')) {
      const v = a === '--state-dir' ? req.argv[++i] : a.slice('--state-dir='.length);
      if (v === undefined) return 'decline';
      // Only the first --state-dir before the command is the root's; anything later is left to the parser.
      if (!words.length) stateDir = v;
      continue;
    }
    // The daemon's controller has the daemon's backend: a client choosing one runs itself.
    if (a === '--firewall-backend' || a.startsWith('--firewall-backend=')) return 'decline';
    if (a === '-h' || a === '--help') help = true;
    if (!a.startsWith('-') && words.length < 2) words.push(a);
  }
  if (path.resolve(req.cwd, stateDir) !== path.resolve(daemon.stateDir)) return 'decline';
  const [cmd, sub] = words;
  if (!help && (cmd === 'run' || cmd === 'daemon' || (cmd === 'sandbox' && sub === 'exec'))) return 'decline';
  if (help || !cmd || READ_ONLY.has(cmd) || ((cmd === 'sandbox' || cmd === 'network') && (!sub || READ_ONLY.has(sub)))) return 'read-only';
  return 'change';
}
