/** `--filter` values of `ls` and `prune`, read as Docker reads them (daemon/network/filter.go, prune filters). */
import type { Network } from '../index';
import { invalid } from './lazy';

/** Go duration units, in milliseconds. */
const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The instant an `until=` filter names: a Go duration before now ("24h", "1h30m"), a Unix time in
 * seconds ("1700000000.5"), or an RFC 3339 date ("2026-01-02", "2026-01-02T15:04:05Z").
 */
export function untilInstant(value: string, now = Date.now()): number {
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const [, n, , unit] of value.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * DURATION_UNITS[unit];
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw invalid(`invalid filter "until=${value}": expected a duration (24h), a Unix time or an RFC 3339 date`);
  return t;
}

/** Whether labels pass one `label=`/`label!=` filter value: "key" or "key=value". */
function labelMatches(labels: Record<string, string>, value: string): boolean {
  const i = value.indexOf('=');
  const key = i < 0 ? value : value.slice(0, i);
  return key in labels && (i < 0 || labels[key] === value.slice(i + 1));
}

/** Splits "key=value" / "key!=value" filters, refusing keys outside known. */
function parseFilters(filters: string[], known: string[]): { key: string; value: string }[] {
  return filters.map((f) => {
    const m = /^([a-z]+!?)=(.*)$/s.exec(f);
    if (!m || !known.includes(m[1])) throw invalid(`invalid filter "${f}": known keys are ${known.join(', ')}`);
    return { key: m[1], value: m[2] };
  });
}

/**
 * The networks `prune --filter` allows removing: created before every `until`, carrying every
 * `label=` and none of the `label!=` (Docker's prune filters).
 */
export function pruneFilter(filters: string[], now = Date.now()): (net: Network) => boolean {
  const parsed = parseFilters(filters, ['until', 'label', 'label!']).map(({ key, value }) => {
    if (key === 'until') {
      const t = untilInstant(value, now);
      return (n: Network) => Date.parse(n.created) < t;
    }
    if (key === 'label') return (n: Network) => labelMatches(n.labels, value);
    return (n: Network) => !labelMatches(n.labels, value);
  });
  return (n) => parsed.every((p) => p(n));
}

/** A network with what `ls --filter` needs beyond its record: whether any sandbox uses it. */
export interface ListedNetwork {
  net: Network;
  inUse: boolean;
}

/** The value of a dangling= filter: true/1 or false/0, as Docker's filters.GetBoolOrDefault. */
function danglingValue(v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`invalid filter "dangling=${v}": expected true or false`);
}

/** Keys `ls --filter` takes. */
export const LS_FILTER_KEYS = ['name', 'id', 'driver', 'scope', 'type', 'label', 'dangling'];

/** Whether a network passes every `ls --filter` (name=, id=, driver=, label=, scope=, type=, dangling=). */
export function listFilter(filters: string[]): (n: ListedNetwork) => boolean {
  const parsed = parseFilters(filters, LS_FILTER_KEYS);
  for (const { key, value } of parsed) {
    if (key === 'type' && value !== 'builtin' && value !== 'custom') throw invalid(`invalid filter "type=${value}": expected builtin or custom`);
    if (key === 'dangling') danglingValue(value);
  }
  return ({ net, inUse }) => parsed.every(({ key, value: v }) => {
    switch (key) {
      case 'name': return net.name.includes(v);
      case 'id': return net.id.startsWith(v);
      case 'driver': return net.driver === v;
      case 'scope': return net.scope === v;
      // The driver says which networks are predefined: a face does not read option keys.
      case 'type': return (v === 'builtin') === !!net.info.predefined;
      case 'label': return labelMatches(net.labels, v);
      // Docker: dangling networks are the user-defined ones no container uses; dangling=false is the others.
      default: return danglingValue(v) === (!net.info.predefined && !inUse);
    }
  });
}

/** Whether ls needs to know which networks are in use (a dangling= filter), so plain ls reads no endpoints. */
export const needsUse = (filters: string[]) => filters.some((f) => f.startsWith('dangling='));
