/**
 * The ajv validator of src/schema/daemon-config.schema.json, compiled on first use. The CLI bundle
 * (scripts/cli-bundle.ts) replaces this module with ajv's standalone code generated at build time,
 * so a command neither loads ajv nor compiles the schema.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import schema from './schema/daemon-config.schema.json';

let compiled: ValidateFunction | undefined;

/** The daemon config's validator. */
export function daemonConfigValidator(): ValidateFunction {
  return (compiled ??= new Ajv({ allErrors: true }).compile(schema));
}
