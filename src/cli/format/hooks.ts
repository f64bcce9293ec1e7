/** What the commands call for --format: compile first (a bad template exits 2 before anything is read), then print. */
import { out } from '../io';
import { invalid } from '../lazy';
import { compileInspect, compileList, type ListFormat, type RowContext } from './docker';
import { TemplateError } from './lex';
import type { StructType } from './types';

/** Turns Docker's template errors into tsnet's invalid-argument error (one line, exit 2). */
function asInvalid<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TemplateError) throw invalid(err.message.split('\n')[0]);
    throw err;
  }
}

/** A printer of list rows for --format (table, json or a Go template). */
export function listPrinter(format: string, list: ListFormat): (rows: RowContext[]) => void {
  const render = asInvalid(() => compileList(format, list));
  return (rows) => out(asInvalid(() => render(rows)));
}

/**
 * A printer of inspect views for --format: a Go template, or `json`, which Docker's CLI takes as all
 * the views as one compact JSON array (cli/command/inspect: NewJSONInspector).
 */
export function inspectPrinter(format: string, type: StructType): (views: unknown[]) => void {
  if (format === 'json') return (views) => out(JSON.stringify(views) + '\n');
  const render = asInvalid(() => compileInspect(format, type));
  return (views) => out(asInvalid(() => render(views)));
}
