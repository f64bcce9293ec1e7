/**
 * Daemon configuration — Docker's daemon.json, read with Docker's meaning — and where tsnet keeps its
 * state. Every networking key of daemon.json is tsnet's (keys.ts); the keys of dockerd's other parts
 * are ignored and listed (dockerd-keys.ts), so one file serves both programs; anything else is refused
 * as dockerd refuses it. Errors name the key, the value and what was expected.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors';
import { DOCKERD_OTHER_KEYS } from './dockerd-keys';
import { type DaemonConfig, isTsnetKey, TSNET_KEYS } from './keys';
import { crossKeyProblems, keyNotes } from './rules';
import { KeyProblem } from './values';

export { type DaemonConfig, RELOADABLE_KEYS, TSNET_KEYS, type Reach, type TsnetKey } from './keys';
export type { AddressPool } from './values';

/** A checked config with what the daemon says about it. */
export interface ConfigReport {
  config: DaemonConfig;
  /** Keys of other parts of dockerd, present and ignored. */
  ignored: string[];
  /** Keys taken with a meaning tsnet fulfils differently (userland-proxy: true). */
  notes: string[];
}

/** State directory: --state-dir, then TSNET_STATE_DIR, then /var/lib/tsnet. */
export function defaultStateDir(): string {
  return process.env.TSNET_STATE_DIR || '/var/lib/tsnet';
}

/** Config file path: TSNET_CONFIG, then /etc/tsnet/daemon.json. */
export function defaultConfigPath(): string {
  return process.env.TSNET_CONFIG || '/etc/tsnet/daemon.json';
}

/** Checks a parsed config object; throws one InvalidArgument line naming every problem once. */
export function checkDaemonConfig(raw: unknown, source = 'daemon config'): ConfigReport {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidArgumentError(`${source}: expected a JSON object of keys, found ${Array.isArray(raw) ? 'a list' : JSON.stringify(raw)}`);
  const entries = Object.entries(raw);
  const unknown = entries.map(([k]) => k).filter((k) => !isTsnetKey(k) && !DOCKERD_OTHER_KEYS.has(k));
  // dockerd's own wording, so a search for it finds the same answers.
  if (unknown.length) throw new InvalidArgumentError(`${source}: the following directives don't match any configuration option: ${unknown.join(', ')}`);
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of entries) {
    if (!isTsnetKey(key)) continue;
    try {
      config[key] = TSNET_KEYS[key].parse(key, value);
    } catch (err) {
      if (!(err instanceof KeyProblem)) throw err;
      problems.push(err.message);
    }
  }
  if (!problems.length) problems.push(...crossKeyProblems(config as DaemonConfig));
  if (problems.length) throw new InvalidArgumentError(`${source}: ${problems.join('; ')}`);
  return { config: config as DaemonConfig, ignored: entries.map(([k]) => k).filter((k) => DOCKERD_OTHER_KEYS.has(k)), notes: keyNotes(config as DaemonConfig) };
}

/** Checks a parsed config object; the config alone. */
export function parseDaemonConfig(raw: unknown, source = 'daemon config'): DaemonConfig {
  return checkDaemonConfig(raw, source).config;
}

/** Reads and checks the config file at path; a missing or empty file is an empty config. */
export function readDaemonConfig(path = defaultConfigPath()): ConfigReport {
  const source = `daemon config ${path}`;
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { config: {}, ignored: [], notes: [] };
    throw new InvalidArgumentError(`${source}: ${(err as Error).message}`);
  }
  // A byte order mark (Notepad writes one) is tolerated, as dockerd does.
  text = text.replace(/^\uFEFF/, '').trim();
  if (!text) return { config: {}, ignored: [], notes: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${source}: invalid JSON: ${(err as Error).message}`);
  }
  return checkDaemonConfig(raw, source);
}

/** Reads the config file at path; a missing file is an empty config. */
export function loadDaemonConfig(path = defaultConfigPath()): DaemonConfig {
  return readDaemonConfig(path).config;
}

/** The one line `tsnet daemon` and --validate print about keys tsnet leaves to dockerd; undefined when there are none. */
export function ignoredKeysLine(report: ConfigReport): string | undefined {
  return report.ignored.length ? `ignoring keys of other parts of dockerd: ${report.ignored.join(', ')}` : undefined;
}
