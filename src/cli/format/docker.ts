/**
 * Docker's --format for lists and inspect: `table` headers through a tabwriter, `\t`/`\n` escapes,
 * one line per item; inspect runs on the typed value and falls back to the raw JSON with
 * missingkey=error, as docker/cli's TemplateInspector does. Templates have Go's syntax (exec.ts).
 */
import { Template } from './exec';
import { HEADER_FUNCS } from './funcs';
import { TemplateError } from './lex';
import { tabwrite } from './tabwriter';
import { typed, untyped, type StructType } from './types';
import { GoMap, GoStruct, GoTime, type GoMethod, type GoValue } from './values';

/** A list row: the values of its fields, computed on demand as Docker's formatter contexts do. */
export interface RowContext {
  /** Go type name, for error messages. */
  type: string;
  /** Field name → value (string, as every Docker list field is). */
  fields: Record<string, () => string>;
  /** Methods that take arguments (`{{.Label "team"}}`). */
  methods?: Record<string, GoMethod>;
}

/** What a list command knows to format: its default table and the header of each field. */
export interface ListFormat {
  defaultTable: string;
  headers: Record<string, string>;
}

/** A row as a Go value: fields are methods, `{{json .}}` marshals every field, sorted by name. */
function rowValue(row: RowContext): GoStruct {
  const methods: Record<string, GoMethod> = { ...row.methods };
  for (const [k, fn] of Object.entries(row.fields)) methods[k] = () => fn();
  const fields = Object.keys(row.fields).map((k) => ({ name: k, json: k, value: '' as GoValue }));
  return new GoStruct(row.type, fields, { pointer: true, methods, marshal: () => Object.fromEntries(Object.entries(row.fields).map(([k, fn]) => [k, fn()])) });
}

/** Parses a --format template, saying which flag was wrong in Docker's words. */
export function parseFormat(format: string): Template {
  try {
    return Template.parse(format);
  } catch (err) {
    if (err instanceof TemplateError) throw new TemplateError(`template parsing error: ${err.message}`);
    throw err;
  }
}

/** Whether format asks for Docker's table layout. */
export function isTable(format: string): boolean {
  return format.startsWith('table');
}

/**
 * Compiles a list --format as `docker network ls` does: "table …" (or "table" alone for the default
 * columns) prints a header and aligns columns; "json" is `{{json .}}`; anything else is a template
 * run once per row, each followed by a newline. Throws TemplateError for a bad template, before any
 * row is read.
 */
export function compileList(format: string, list: ListFormat): (rows: RowContext[]) => string {
  let f = format === 'table' ? list.defaultTable : format === 'json' ? '{{json .}}' : format;
  const table = isTable(f);
  if (table) f = f.slice('table'.length);
  f = f.trim().replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const tmpl = parseFormat(f);
  return (rows) => {
    let body = '';
    for (const row of rows) body += runOrExplain(() => tmpl.execute(rowValue(row))) + '\n';
    if (!table) return body;
    // Docker's SubHeaderContext is a map whose Label method names a label's column after its last dotted part.
    const headers = new GoMap(list.headers, () => '', { type: 'formatter.SubHeaderContext', methods: { Label: (name) => String(name).split('.').pop()!.replace(/[-_]/g, ' ') } });
    let header = '';
    try {
      header = tmpl.execute(headers, { funcs: HEADER_FUNCS });
    } catch {
      // Docker ignores a header that fails and prints none.
    }
    return tabwrite(`${header}\n${body}`);
  };
}

/** compileList and run it once. */
export function formatList(format: string, rows: RowContext[], list: ListFormat): string {
  return compileList(format, list)(rows);
}

/**
 * Compiles an inspect --format as `docker … inspect --format` does: each view's output and a
 * newline; the template first runs on the view decoded into type (Go field names), then, if that
 * fails, on the raw JSON with missing keys as errors.
 */
export function compileInspect(format: string, type: StructType): (views: unknown[]) => string {
  const tmpl = parseFormat(format);
  return (views) => {
    let out = '';
    for (const view of views) {
      try {
        out += tmpl.execute(typed(type, view)) + '\n';
      } catch (typedErr) {
        if (!(typedErr instanceof TemplateError)) throw typedErr;
        out += runOrExplain(() => tmpl.execute(untyped(JSON.parse(JSON.stringify(view))), { missingKeyError: true, untyped: true })) + '\n';
      }
    }
    return out;
  };
}

/** compileInspect and run it once. */
export function formatInspect(format: string, views: unknown[], type: StructType): string {
  return compileInspect(format, type)(views);
}

/** Runs fn; an execution error reads as Docker's ("template parsing error: …"). */
function runOrExplain(fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TemplateError) throw new TemplateError(`template parsing error: ${err.message}`);
    throw err;
  }
}

/** Docker's stringid.TruncateID. */
export function truncateId(id: string): string {
  return id.slice(0, 12);
}

/** time.Time.String() of an RFC 3339 time, as Go's CLI prints the Created it decoded. */
export function goTimeString(rfc3339: string): string {
  return new GoTime(rfc3339).toString();
}

/** Labels as Docker's list contexts print them: k=v joined by commas (sorted here; Go's map order is random). */
export function joinLabels(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');
}
