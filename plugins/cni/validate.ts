/**
 * The ajv validator of src/schema/cni-config.schema.json. Compiled on first use here; the bundle
 * (bundle.ts) replaces this module with ajv's standalone code generated at build time, so the
 * shipped plugin neither loads ajv nor compiles the schema on every exec.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import schema from '../../src/schema/cni-config.schema.json';

let compiled: ValidateFunction | undefined;

/** The schema's validator: call it, then read .errors (ajv's ErrorObject list) when it returns false. */
export function cniConfigValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  return compiled;
}
