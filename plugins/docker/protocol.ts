/**
 * Docker's plugin protocol, independent of the transport: route a POST by its path, decode and
 * validate the body against the JSON Schema of that call, run it, and shape the answer. Requests
 * Docker cannot have meant (bad JSON, schema violations) get an HTTP error status; calls that
 * decode but fail get HTTP 200 with {"Err": "…"}, which libnetwork reads from the decoded reply —
 * a 404 would make it think the call is not implemented and carry on as if it had succeeded.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { describe, ERROR_CODES, ErrorKind, log } from '../../src/index';
import ipamSchema from '../../src/schema/docker-ipam-driver.schema.json';
import networkSchema from '../../src/schema/docker-network-driver.schema.json';

const debug = log('tsnet:plugins:docker');

/** An answer: HTTP status and JSON body. */
export interface PluginResponse {
  status: number;
  body: Record<string, unknown>;
}

/** One protocol call: its body's schema (none: the call takes no body) and its handler. */
export interface Route {
  validate?: ValidateFunction;
  handle(body: unknown): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** Calls by path, e.g. "/NetworkDriver.Join". */
export type Routes = Record<string, Route>;

/** Which schema file a definition lives in. */
export type SchemaFile = 'network' | 'ipam';

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(networkSchema).addSchema(ipamSchema);
const SCHEMA_IDS: Record<SchemaFile, string> = { network: networkSchema.$id, ipam: ipamSchema.$id };

/** The validator of one request definition, e.g. validator('network', 'Join'). */
export function validator(file: SchemaFile, definition: string): ValidateFunction {
  const v = ajv.getSchema(`${SCHEMA_IDS[file]}#/definitions/${definition}`);
  if (!v) throw new Error(`docker plugin schema: no definition ${definition} in ${file}`);
  return v;
}

/** A route whose body is checked against `definition` before fn sees it, typed as T. */
export function route<T>(file: SchemaFile, definition: string, fn: (body: T) => Promise<Record<string, unknown>> | Record<string, unknown>): Route {
  return { validate: validator(file, definition), handle: (body) => fn(body as T) };
}

/** A route for a call without a body (Docker posts "null" or nothing). */
export function bodyless(fn: () => Promise<Record<string, unknown>> | Record<string, unknown>): Route {
  return { handle: () => fn() };
}

const failure = (kind: ErrorKind, message: string): PluginResponse => ({ status: ERROR_CODES[kind].http, body: { Err: message } });

/** Parses the raw body: empty means none, as does JSON null. */
function decode(raw: string): { ok: true; body: unknown } | { ok: false; message: string } {
  if (raw.trim() === '') return { ok: true, body: undefined };
  try {
    return { ok: true, body: JSON.parse(raw) ?? undefined };
  } catch (err) {
    return { ok: false, message: `invalid JSON: ${(err as Error).message}` };
  }
}

/** Answers one request. Never throws: every failure becomes an {Err} answer. */
export async function handlePluginRequest(routes: Routes, method: string, path: string, raw: string): Promise<PluginResponse> {
  const r = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (!r) return failure(ErrorKind.NotFound, `${path}: not a call this plugin implements`);
  if (method !== 'POST') return failure(ErrorKind.InvalidArgument, `${path}: plugin calls are POST requests, not ${method}`);
  const decoded = decode(raw);
  if (!decoded.ok) return failure(ErrorKind.InvalidArgument, `${path}: ${decoded.message}`);
  if (r.validate && !r.validate(decoded.body)) {
    const why = (r.validate.errors ?? []).map((e) => `${e.instancePath || 'body'} ${e.message}`).join('; ');
    return failure(ErrorKind.InvalidArgument, `${path}: invalid request: ${why}`);
  }
  try {
    const body = await r.handle(decoded.body);
    debug(`${path} ${raw.trim() || '-'} → ${JSON.stringify(body)}`);
    return { status: 200, body };
  } catch (err) {
    debug(`${path} ${raw.trim() || '-'} → error: ${describe(err)}`);
    return { status: 200, body: { Err: describe(err) } };
  }
}
