/**
 * `inspect -f/--format`: `json`, or a template of `{{.Field.Sub}}` and `{{json .Field}}` actions
 * printed once per object, with Go's default formatting of maps and lists. The rest of Go's
 * template language is refused in one line rather than printed wrong.
 */
import { invalid } from './lazy';

/** Go's %v of a decoded JSON value: map[k:v] with sorted keys, [a b] for lists, <nil> for null. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  return String(v);
}

/** The value at a field path (".IPAM.Config", "." for the whole object). */
function field(root: unknown, path: string, template: string): unknown {
  if (path === '.') return root;
  let v: unknown = root;
  for (const name of path.slice(1).split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(`template "${template}": can't evaluate field ${name}`);
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

/** Renders one object through a format; 'json' is the object as one JSON line (Docker's --format json). */
export function renderFormat(format: string, value: unknown): string {
  if (format === 'json') return JSON.stringify(value);
  return format.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_all, action: string) => {
    const m = /^(json\s+)?(\.|(\.[A-Za-z_][A-Za-z0-9_]*)+)$/.exec(action);
    if (!m) throw invalid(`template "${format}": only {{.Field}} and {{json .Field}} are supported, not {{${action}}}`);
    const v = field(value, m[2], format);
    return m[1] ? JSON.stringify(v ?? null) : goValue(v);
  });
}
