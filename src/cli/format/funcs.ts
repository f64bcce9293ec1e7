/** Template functions: Go's builtins (len, index, eq, printf …) and Docker's (json, join, split, …). */
import { formatValue, GoFloat, GoMap, GoStruct, GoTime, isMap, isTrue, mapEntries, marshalJson, typeName, type GoValue } from './values';

/** An error a function raises while the template runs. */
export class ExecError extends Error {}

/** A template function over evaluated arguments. */
export type TemplateFunc = (...args: GoValue[]) => GoValue;

/** An argument of the wrong type: Go reports it at the argument, before calling the function. */
export class ArgTypeError extends ExecError {
  constructor(readonly arg: number, message: string) { super(message); }
}

const str = (v: GoValue, arg: number): string => {
  if (typeof v !== 'string') throw new ArgTypeError(arg, `wrong type for value; expected string; got ${typeName(v)}`);
  return v;
};

const int = (v: GoValue, arg: number): number => {
  if (typeof v !== 'number') throw new ArgTypeError(arg, `wrong type for value; expected int; got ${typeName(v)}`);
  return v;
};

const arity = (fn: string, args: GoValue[], want: number): void => {
  if (args.length !== want) throw new ExecError(`wrong number of args for ${fn}: want ${want} got ${args.length}`);
};

/** The basic kind used by comparisons. */
function basicKind(v: GoValue): 'string' | 'int' | 'float' | 'bool' | 'nil' | undefined {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (v instanceof GoFloat) return 'float';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return 'nil';
  return undefined;
}

const num = (v: GoValue): number | string | boolean | null => (v instanceof GoFloat ? v.value : (v as number | string | boolean | null));

/** Go's eq/lt ordering of two basic values, after its type checks. */
function compare(fn: string, a: GoValue, b: GoValue): number {
  const ka = basicKind(a), kb = basicKind(b);
  if (!ka || !kb) throw new ExecError(`error calling ${fn}: invalid type for comparison`);
  if (ka !== kb && !(ka === 'int' && kb === 'float') && !(ka === 'float' && kb === 'int')) throw new ExecError(`error calling ${fn}: incompatible types for comparison`);
  if (fn !== 'eq' && fn !== 'ne' && (ka === 'bool' || ka === 'nil')) throw new ExecError(`error calling ${fn}: invalid type for comparison`);
  const x = num(a), y = num(b);
  return x === y ? 0 : (x as number) < (y as number) ? -1 : 1;
}

/** len: bytes of a string, elements of a slice or map. */
function len(v: GoValue): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return mapEntries(v).length;
  throw new ExecError(`error calling len: len of type ${typeName(v)}`);
}

/** index: item of a slice by position or of a map by key; a missing map key gives the element's zero value. */
function index(v: GoValue, ...keys: GoValue[]): GoValue {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === 'string') {
      if (typeof k !== 'number') throw new ExecError(`error calling index: cannot index slice/array with type ${typeName(k)}`);
      if (k < 0 || k >= cur.length) throw new ExecError(`error calling index: index out of range: ${k}`);
      cur = typeof cur === 'string' ? Buffer.from(cur)[k] : cur[k];
    } else if (cur instanceof GoMap) {
      if (typeof k !== 'string') throw new ExecError(`error calling index: value has type ${typeName(k)}; should be string`);
      cur = k in cur.entries ? cur.entries[k] : cur.zero();
    } else if (isMap(cur)) {
      if (typeof k !== 'string') throw new ExecError(`error calling index: value has type ${typeName(k)}; should be string`);
      cur = k in cur ? cur[k] : null;
    } else if (cur === null || cur === undefined) {
      throw new ExecError('error calling index: index of untyped nil');
    } else {
      throw new ExecError(`error calling index: can't index item of type ${typeName(cur)}`);
    }
  }
  return cur;
}

/** slice: s[i:j] of a string or slice. */
function slice(v: GoValue, ...bounds: GoValue[]): GoValue {
  if (typeof v !== 'string' && !Array.isArray(v)) throw new ExecError(`error calling slice: can't slice item of type ${typeName(v)}`);
  const [i = 0, j = v.length] = bounds.map((b, i) => int(b, i + 1));
  if (i < 0 || j > v.length || i > j) throw new ExecError(`error calling slice: index out of range: ${j > v.length ? j : i}`);
  return v.slice(i, j);
}

/** fmt.Sprint: a space between operands when neither is a string. */
function sprint(args: GoValue[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a === undefined ? null : a);
  });
  return out;
}

/** Go's %q of a string. */
function quote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** fmt.Sprintf for the verbs scripts use: %v %s %d %q %t %x %f %%, with flags "-", "0", "+" and a width. */
function sprintf(format: GoValue, ...args: GoValue[]): string {
  const f = str(format, 0);
  let n = 0;
  const out = f.replace(/%([-+0 #]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'v': s = formatValue(a === undefined ? null : a); break;
      case 's': s = typeof a === 'number' || typeof a === 'boolean' || a instanceof GoFloat ? `%!s(${typeName(a)}=${formatValue(a)})` : formatValue(a === undefined ? null : a); break;
      case 'd': s = typeof a === 'number' ? String(a) : `%!d(${typeName(a)}=${formatValue(a)})`; break;
      case 'q': s = typeof a === 'string' ? quote(a) : `%!q(${typeName(a)}=${formatValue(a)})`; break;
      case 't': s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${formatValue(a)})`; break;
      case 'x': s = typeof a === 'number' ? a.toString(16) : typeof a === 'string' ? Buffer.from(a).toString('hex') : `%!x(${typeName(a)}=${formatValue(a)})`; break;
      case 'f': s = typeof a === 'number' || a instanceof GoFloat ? (a instanceof GoFloat ? a.value : a).toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeName(a)}=${formatValue(a)})`; break;
      default: s = `%!${verb}(${typeName(a)}=${formatValue(a)})`;
    }
    if (flags.includes('+') && (verb === 'd' || verb === 'f') && !s.startsWith('-')) s = '+' + s;
    const w = Number(width ?? 0);
    if (s.length >= w) return s;
    if (flags.includes('-')) return s.padEnd(w);
    return flags.includes('0') && verb !== 's' && verb !== 'v' ? s.padStart(w, '0') : s.padStart(w);
  });
  return n < args.length ? `${out}%!(EXTRA ${args.slice(n).map((a) => `${typeName(a)}=${formatValue(a)}`).join(', ')})` : out;
}

/** html/template's HTMLEscapeString. */
const html = (s: string) => s.replace(/[<>&'"\0]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c]!);

/** Go's builtins plus Docker's template functions (docker/cli templates.basicFunctions). */
export const FUNCS: Record<string, TemplateFunc> = {
  // and/or/not are evaluated lazily by the executor; these entries give them a name for the parser.
  and: () => undefined,
  or: () => undefined,
  not: (...a) => { arity('not', a, 1); return !isTrue(a[0]); },
  len: (...a) => { arity('len', a, 1); return len(a[0]); },
  index: (v, ...keys) => index(v, ...keys),
  slice: (v, ...bounds) => slice(v, ...bounds),
  print: (...a) => sprint(a),
  println: (...a) => a.map((x) => formatValue(x === undefined ? null : x)).join(' ') + '\n',
  printf: (f, ...a) => sprintf(f, ...a),
  eq: (a, ...bs) => { if (!bs.length) throw new ExecError('wrong number of args for eq: want at least 1 got 0'); return bs.some((b) => compare('eq', a, b) === 0); },
  ne: (...a) => { arity('ne', a, 2); return compare('ne', a[0], a[1]) !== 0; },
  lt: (...a) => { arity('lt', a, 2); return compare('lt', a[0], a[1]) < 0; },
  le: (...a) => { arity('le', a, 2); return compare('le', a[0], a[1]) <= 0; },
  gt: (...a) => { arity('gt', a, 2); return compare('gt', a[0], a[1]) > 0; },
  ge: (...a) => { arity('ge', a, 2); return compare('ge', a[0], a[1]) >= 0; },
  html: (...a) => html(sprint(a)),
  js: (...a) => sprint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  // Docker's: json without HTML escaping and without the trailing newline.
  json: (...a) => { arity('json', a, 1); return marshalJson(a[0]); },
  split: (...a) => { arity('split', a, 2); const s = str(a[0], 0), sep = str(a[1], 1); return sep === '' ? [...s] : s.split(sep); },
  join: (...a) => {
    arity('join', a, 2);
    if (!Array.isArray(a[0]) || a[0].some((x) => typeof x !== 'string')) throw new ArgTypeError(0, `wrong type for value; expected []string; got ${typeName(a[0])}`);
    return (a[0] as string[]).join(str(a[1], 1));
  },
  title: (...a) => { arity('title', a, 1); return str(a[0], 0).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()); },
  lower: (...a) => { arity('lower', a, 1); return str(a[0], 0).toLowerCase(); },
  upper: (...a) => { arity('upper', a, 1); return str(a[0], 0).toUpperCase(); },
  pad: (...a) => { arity('pad', a, 3); const s = str(a[0], 0); return s === '' ? s : ' '.repeat(int(a[1], 1)) + s + ' '.repeat(int(a[2], 2)); },
  truncate: (...a) => { arity('truncate', a, 2); const s = str(a[0], 0), n = int(a[1], 1); return Buffer.byteLength(s) < n ? s : Buffer.from(s).subarray(0, n).toString(); },
};

/** Docker's header functions for the `table` header row: each returns its first argument unchanged. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = Object.fromEntries(['json', 'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate'].map((n) => [n, (v: GoValue) => str(v, 0)]));

/** The names a template may call. */
export const FUNC_NAMES: ReadonlySet<string> = new Set(Object.keys(FUNCS));

/** Whether v can be the receiver of a field (for the executor's error wording). */
export function fieldable(v: GoValue): boolean {
  return v instanceof GoStruct || isMap(v) || v instanceof GoTime;
}
