/**
 * Puts the shipped plugin where a runtime finds it, in a temporary CNI bin dir, as `tsnet-cni install`
 * does. TSNET_CNI_VIA picks what the suite runs through: `shim` (default) installs the exec shim and
 * starts the daemon, so every command runs in the daemon; `node` installs the node plugin alone
 * (the esbuild bundle behind the install wrapper), one process per command.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundle } from '../../../plugins/cni/bundle';
import { PLUGIN_NAME, placePlugin } from '../../../plugins/cni/install';
import { ensureDaemon } from './daemon';
import { REFERENCE_BIN_DIR } from './runtime';

/** How the suite's tsnet-cni runs its commands. */
export const VIA: 'shim' | 'node' = process.env.TSNET_CNI_VIA === 'node' ? 'node' : 'shim';

let installed: Promise<string> | undefined;

/** Bundles once per process and installs the plugin (and, through the shim, starts the daemon); returns the bin dir holding tsnet-cni. */
export function installPlugin(): Promise<string> {
  installed ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cni-bin-'));
    // The bundle lands in the build tree, where native modules resolve, as `tsnet-cni install` puts it.
    const { kind } = placePlugin(dir, PLUGIN_NAME, await bundle(), { shim: VIA === 'shim' });
    if (VIA === 'shim') {
      if (kind !== 'shim') throw new Error('TSNET_CNI_VIA=shim: no C compiler to build the shim (install cc, or run with TSNET_CNI_VIA=node)');
      await ensureDaemon();
    }
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
