/** Puts the shipped plugin where a runtime finds it: the esbuild bundle behind the install wrapper, in a temporary CNI bin dir. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundle } from '../../../plugins/cni/bundle';
import { PLUGIN_NAME, writeWrapper } from '../../../plugins/cni/install';
import { REFERENCE_BIN_DIR } from './runtime';

let installed: Promise<string> | undefined;

/** Bundles once per process and installs the wrapper; returns the bin dir holding tsnet-cni. */
export function installPlugin(): Promise<string> {
  installed ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cni-bin-'));
    // The bundle lands in the build tree, where native modules resolve, as `tsnet-cni install` puts it.
    writeWrapper(dir, PLUGIN_NAME, await bundle());
    return dir;
  })();
  return installed;
}

/** CNI_PATH for tests: our bin dir first, then the reference plugins. */
export async function binDirs(): Promise<string[]> {
  return [await installPlugin(), REFERENCE_BIN_DIR];
}

/** Whether the Debian reference plugins are installed (apt-get install containernetworking-plugins). */
export function haveReferencePlugins(): boolean {
  return fs.existsSync(path.join(REFERENCE_BIN_DIR, 'bridge'));
}
