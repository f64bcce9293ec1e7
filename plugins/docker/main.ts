#!/usr/bin/env node
/**
 * The Docker plugin on its own: `node build/plugins/docker/main.js [--socket PATH] [--state-dir DIR]`.
 * Serves until SIGTERM or SIGINT; `tsnet daemon` runs the same plugin in its own process.
 */
import { parseArgs } from 'node:util';
import { Controller, describe, ERROR_CODES, kindOf } from '../../src/index';
import { DEFAULT_SOCKET, startDockerPlugin } from './index';

const USAGE = 'usage: main.js [--socket PATH] [--state-dir DIR]\n';

async function main(): Promise<number> {
  let values: { socket?: string; 'state-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { socket: { type: 'string' }, 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`tsnet docker plugin: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const controller = await Controller.open({ stateDir: values['state-dir'] });
  let plugin;
  try {
    plugin = await startDockerPlugin({ controller, socketPath: values.socket ?? DEFAULT_SOCKET });
  } catch (err) {
    await controller.close();
    throw err;
  }
  process.stderr.write(`tsnet docker plugin: serving ${plugin.socketPath} (state ${controller.stateDir})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await plugin.close();
  await controller.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tsnet docker plugin: ${describe(err)}\n`);
    process.exit(ERROR_CODES[kindOf(err)].exit);
  },
);
