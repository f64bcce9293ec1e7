/**
 * Living beside firewalld, as Docker does: firewalld's own forward chain rejects traffic from
 * interfaces of no zone (a container's outbound and bridged traffic), and its reload drops runtime
 * zone bindings (and, on its iptables backend, every chain). So while firewalld runs, tsnet's
 * bridges are bound to a zone of tsnet's own (`tsnet`, target ACCEPT, made once as a permanent
 * zone); a bridge found unbound (a reload) counts as a network whose rules are missing, so the
 * daemon's watcher and every state-changing command re-apply it.
 *
 * Talks to firewalld over the system D-Bus through `dbus-send` (a few ms per call; calls are made
 * only on network setup and teardown and by the repair pass, never per endpoint or port); the
 * permanent zone is made once with `firewall-cmd`, which D-Bus's `a{sv}` arguments need.
 */
import * as fs from 'node:fs';
import { InternalError } from '../errors';
import { run } from '../kernel/exec';
import { log } from '../log';

const debug = log('tsnet:firewalld');

/** The zone tsnet binds its bridges to. */
export const FIREWALLD_ZONE = 'tsnet';
const BUS_NAME = 'org.fedoraproject.FirewallD1';
const OBJECT = '/org/fedoraproject/FirewallD1';
const DEFAULT_SYSTEM_BUS = '/run/dbus/system_bus_socket';

/** A value of dbus-send's `--print-reply` output. */
export type DbusValue = string | number | boolean | DbusValue[] | [DbusValue, DbusValue];

/** A dict entry as parsed: a key and a value. */
interface DictEntry {
  key: DbusValue;
  value: DbusValue;
}

/**
 * Parses the values of dbus-send's `--print-reply` output (after its "method return" line):
 * `string "x"`, numbers and booleans, `array [ … ]`, `dict entry( key value )`, `variant value`.
 * Dict entries become DictEntry objects inside their array.
 */
export function parseDbusReply(text: string): (DbusValue | DictEntry)[] {
  const body = text.replace(/^method return[^\n]*\n/, '');
  const tokens = body.match(/"(?:[^"\\]|\\.)*"|dict entry\(|\[|\]|\)|[^\s()[\]"]+/g) ?? [];
  let i = 0;
  const value = (): DbusValue | DictEntry => {
    const t = tokens[i++];
    if (t === 'array') {
      if (tokens[i++] !== '[') throw new InternalError('dbus reply: "array" without "["');
      const items: (DbusValue | DictEntry)[] = [];
      while (tokens[i] !== ']') {
        if (i >= tokens.length) throw new InternalError('dbus reply: unterminated array');
        items.push(value());
      }
      i++;
      return items as DbusValue[];
    }
    if (t === 'dict entry(') {
      const key = value() as DbusValue, val = value() as DbusValue;
      if (tokens[i++] !== ')') throw new InternalError('dbus reply: unterminated dict entry');
      return { key, value: val };
    }
    if (t === 'variant') return value();
    if (t === 'string' || t === 'object' || t === 'signature') {
      const s = tokens[i++];
      if (!s?.startsWith('"')) throw new InternalError(`dbus reply: ${t} without a quoted value`);
      return s.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    if (t === 'boolean') return tokens[i++] === 'true';
    if (/^u?int(16|32|64)$|^byte$|^double$/.test(t ?? '')) return Number(tokens[i++]);
    throw new InternalError(`dbus reply: unexpected ${JSON.stringify(t)}`);
  };
  const out: (DbusValue | DictEntry)[] = [];
  while (i < tokens.length) out.push(value());
  return out;
}

/** getActiveZones' reply as zone → interfaces. */
export function activeZoneInterfaces(reply: string): Map<string, string[]> {
  const zones = new Map<string, string[]>();
  const [dict] = parseDbusReply(reply) as unknown as DictEntry[][];
  for (const zone of dict ?? []) {
    const fields = zone.value as unknown as DictEntry[];
    const ifaces = fields.find((f) => f.key === 'interfaces')?.value;
    zones.set(String(zone.key), Array.isArray(ifaces) ? ifaces.map(String) : []);
  }
  return zones;
}

/** The system bus's socket path, or undefined for a bus address that is no unix path. */
function systemBusPath(): string | undefined {
  const addr = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  if (!addr) return DEFAULT_SYSTEM_BUS;
  return /^unix:path=([^,;]+)/.exec(addr)?.[1];
}

const NOT_RUNNING_RE = /ServiceUnknown|NameHasNoOwner|Failed to connect|Could not connect|No such file|Connection refused/;

/** firewalld as tsnet uses it: whether it runs, which interfaces its zones hold, binding bridges to tsnet's zone. */
export interface Firewalld {
  /** The bridges bound to tsnet's zone, or undefined when firewalld does not run. */
  zoneInterfaces(): Promise<Set<string> | undefined>;
  /** Binds bridge to tsnet's zone (making the zone first if needed); a no-op without firewalld. */
  bind(bridge: string): Promise<void>;
  /** Unbinds bridge from tsnet's zone; a no-op without firewalld or when it is not bound. */
  unbind(bridge: string): Promise<void>;
}

/** The firewalld of this host's system bus. */
export class SystemFirewalld implements Firewalld {
  /** dbus-send of firewalld's zone interface on the system bus; resolves undefined when firewalld (or the bus) is not there. */
  private async call(method: string, ...args: string[]): Promise<string | undefined> {
    const bus = systemBusPath();
    if (bus && !fs.existsSync(bus)) return undefined;
    try {
      const { stdout } = await run('dbus-send', ['--system', '--print-reply', `--dest=${BUS_NAME}`, OBJECT, `${BUS_NAME}.zone.${method}`, ...args], { timeoutMs: 10000 });
      return stdout;
    } catch (err) {
      const msg = (err as Error).message;
      if (NOT_RUNNING_RE.test(msg) || (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async zoneInterfaces(): Promise<Set<string> | undefined> {
    const reply = await this.call('getActiveZones');
    if (reply === undefined) return undefined;
    return new Set(activeZoneInterfaces(reply).get(FIREWALLD_ZONE) ?? []);
  }

  async bind(bridge: string): Promise<void> {
    const zones = await this.call('getZones');
    if (zones === undefined) return;
    if (!(parseDbusReply(zones)[0] as string[]).includes(FIREWALLD_ZONE)) await this.makeZone();
    await this.call('changeZoneOfInterface', `string:${FIREWALLD_ZONE}`, `string:${bridge}`);
    debug(`bridge ${bridge} bound to firewalld zone ${FIREWALLD_ZONE}`);
  }

  async unbind(bridge: string): Promise<void> {
    const zone = await this.call('getZoneOfInterface', `string:${bridge}`);
    if (zone === undefined || parseDbusReply(zone)[0] !== FIREWALLD_ZONE) return;
    await this.call('removeInterface', `string:${FIREWALLD_ZONE}`, `string:${bridge}`);
  }

  /** Makes the permanent zone (target ACCEPT) and reloads, as Docker does for its `docker` zone. */
  private async makeZone(): Promise<void> {
    const cmd = (...args: string[]) => run('firewall-cmd', args, { timeoutMs: 30000 });
    try {
      await cmd('--permanent', `--new-zone=${FIREWALLD_ZONE}`);
    } catch (err) {
      // Another process made it meanwhile.
      if (!/NAME_CONFLICT/.test((err as Error).message)) throw err;
    }
    await cmd('--permanent', `--zone=${FIREWALLD_ZONE}`, '--set-target=ACCEPT');
    await cmd('--reload');
    debug(`firewalld zone ${FIREWALLD_ZONE} made (target ACCEPT)`);
  }
}
