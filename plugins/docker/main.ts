#!/usr/bin/env node
/**
 * The Docker plugin on its own: `node build/plugins/docker/main.js [--socket PATH] [--driver NAME] [--state-dir DIR]`
 * (`--driver macvlan --socket /run/docker/plugins/tsnet-macvlan.sock` serves `-d tsnet-macvlan`).
 * Serves until SIGTERM or SIGINT; `tsnet daemon` runs the same plugin in its own process.
 */
import { parseArgs } from 'node:util';
import { Controller, describe, ERROR_CODES, kindOf } from '../../src/index';
import { DEFAULT_DRIVER, DEFAULT_SOCKET, driverSocketPath, startDockerPlugin } from './index';

const USAGE = 'usage: main.js [--socket PATH] [--driver bridge|macvlan] [--state-dir DIR]\n';

async function main(): Promise<number> {
  let values: { socket?: string; driver?: string; 'state-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { socket: { type: 'string' }, driver: { type: 'string' }, 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
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
    const driver = values.driver ?? DEFAULT_DRIVER;
    plugin = await startDockerPlugin({ controller, driver, socketPath: values.socket ?? (driver === DEFAULT_DRIVER ? DEFAULT_SOCKET : driverSocketPath(DEFAULT_SOCKET, driver)) });
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
