/**
 * Go values as Docker's templates see them, and Go's ways of printing them: fmt's %v (`map[a:b]`,
 * `[x y]`, `{a b}`) and encoding/json. JS values stand for Go's untyped data (a decoded JSON
 * document: objects are map[string]interface{}); the classes here carry what only typed Go data has
 * (a struct's field order and Go names, a map's element type, a time's String method).
 * undefined stands for Go's invalid reflect.Value (a missing map key), null for nil.
 */

/** A Go method callable from a template (`{{.Label "team"}}`). */
export type GoMethod = (...args: GoValue[]) => GoValue;

/** One field of a struct: its Go name, its JSON name and whether JSON omits it when empty. */
export interface GoField {
  name: string;
  json: string;
  omitempty?: boolean;
  value: GoValue;
}

/** A Go struct value (or a pointer to one): fields in declaration order, plus methods. */
export class GoStruct {
  constructor(
    readonly type: string,
    readonly fields: readonly GoField[],
    readonly extra: { pointer?: boolean; methods?: Record<string, GoMethod>; marshal?: () => GoValue } = {},
  ) {}

  /** The field or method called name, or undefined when the type has none. */
  member(name: string): { value: GoValue } | { method: GoMethod } | undefined {
    const m = this.extra.methods?.[name];
    if (m) return { method: m };
    const f = this.fields.find((x) => x.name === name);
    return f ? { value: f.value } : undefined;
  }
}

/** A typed Go map: entries plus the element type's zero value (what `index` returns for a missing key). */
export class GoMap {
  constructor(
    readonly entries: Record<string, GoValue>,
    readonly zero: () => GoValue,
    readonly extra: { type?: string; isNil?: boolean; methods?: Record<string, GoMethod> } = {},
  ) {}
}

/** A time.Time, kept as its RFC 3339 text so nanoseconds survive. */
export class GoTime {
  constructor(readonly rfc3339: string) {}

  /** time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST". */
  toString(): string {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(this.rfc3339);
    if (!m) return this.rfc3339;
    const frac = (m[3] ?? '').replace(/0+$/, '');
    const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4].replace(':', '')} ${m[4].replace(':', '')}`;
    return `${m[1]} ${m[2]}${frac ? '.' + frac : ''} ${zone}`;
  }
}

/** A float64 (template literals like 1.5; JS numbers are ints). */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** Any value a template handles. */
export type GoValue = string | number | boolean | null | undefined | GoValue[] | GoStruct | GoMap | GoTime | GoFloat | { [key: string]: GoValue };

/** A nil slice (prints `[]`, marshals as null). */
export function nilSlice(type?: string): GoValue[] {
  return Object.assign([], { goNil: true, goType: type });
}

/** A typed slice (its Go type shows in error messages). */
export function typedSlice(items: GoValue[], type: string): GoValue[] {
  return Object.assign(items, { goType: type });
}

/** Whether v is a Go map (typed or a decoded JSON object). */
export function isMap(v: GoValue): v is GoMap | { [key: string]: GoValue } {
  return v instanceof GoMap || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype);
}

/** A map's entries, keys sorted as Go's fmt and encoding/json sort them. */
export function mapEntries(v: GoMap | { [key: string]: GoValue }): [string, GoValue][] {
  const entries = Object.entries(v instanceof GoMap ? v.entries : v);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Go type name of v, for error messages. */
export function typeName(v: GoValue): string {
  if (v === undefined) return '<no value>';
  if (v === null) return 'interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoTime) return 'time.Time';
  if (v instanceof GoStruct) return (v.extra.pointer ? '*' : '') + v.type;
  if (Array.isArray(v)) return (v as { goType?: string }).goType ?? '[]interface {}';
  if (v instanceof GoMap) return v.extra.type ?? 'map[string]interface {}';
  return 'map[string]interface {}';
}

/** Go's float64 formatting for %v (strconv 'g' with the shortest precision). */
function formatFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** fmt's %v of v; depth > 0 inside a composite value. */
export function formatValue(v: GoValue, depth = 0): string {
  if (v === undefined) return depth ? '<invalid reflect.Value>' : '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof GoFloat) return formatFloat(v.value);
  if (v instanceof GoTime) return v.toString();
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, depth + 1)).join(' ')}]`;
  if (v instanceof GoStruct) {
    const body = `{${v.fields.map((f) => formatValue(f.value, depth + 1)).join(' ')}}`;
    return v.extra.pointer ? `&${body}` : body;
  }
  return `map[${mapEntries(v).map(([k, x]) => `${k}:${formatValue(x, depth + 1)}`).join(' ')}]`;
}

/** What an action prints for v: fmt's %v, except that nil and missing values print "<no value>". */
export function printAction(v: GoValue): string {
  return v === null || v === undefined ? '<no value>' : formatValue(v);
}

/** Go's JSON string: like JSON.stringify but with Go's escapes (docker sets SetEscapeHTML(false)). */
function jsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Whether encoding/json's omitempty drops v. */
function emptyForJson(v: GoValue): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isMap(v)) return mapEntries(v).length === 0;
  return false;
}

/** encoding/json's Marshal of v (compact; map keys sorted, struct fields in order). */
export function marshalJson(v: GoValue): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof GoFloat) return Number.isFinite(v.value) ? JSON.stringify(v.value) : 'null';
  if (v instanceof GoTime) return jsonString(v.rfc3339);
  if (Array.isArray(v)) return (v as { goNil?: boolean }).goNil ? 'null' : `[${v.map(marshalJson).join(',')}]`;
  if (v instanceof GoStruct) {
    if (v.extra.marshal) return marshalJson(v.extra.marshal());
    return `{${v.fields.filter((f) => !(f.omitempty && emptyForJson(f.value))).map((f) => `${jsonString(f.json)}:${marshalJson(f.value)}`).join(',')}}`;
  }
  if (v instanceof GoMap && v.extra.isNil) return 'null';
  return `{${mapEntries(v).map(([k, x]) => `${jsonString(k)}:${marshalJson(x)}`).join(',')}}`;
}

/** text/template's truth: false, 0, nil, and empty strings, slices and maps are false; structs are true. */
export function isTrue(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return mapEntries(v).length > 0;
  return true;
}
