/**
 * Builds the shipped helper: one minified file (build/plugins/netavark/tsnet-netavark.js) from the
 * TypeScript sources with the CNI plugin's bundler (native modules external, the core's heavy
 * dependencies loaded lazily), so podman's exec reads one script instead of resolving ~100 modules.
 */
import * as path from 'node:path';
import { bundle } from '../cni/bundle';

/** Repository root, from build/plugins/netavark or plugins/netavark alike. */
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../../..' : '../..');
/** Where the bundle goes: in the build tree, so node_modules resolve as for the compiled entry point. */
export const NETAVARK_BUNDLE = path.join(ROOT, 'build', 'plugins', 'netavark', 'tsnet-netavark.js');

/** Bundles tsnet-netavark; returns the file. */
export function bundleNetavark(outfile = NETAVARK_BUNDLE): Promise<string> {
  return bundle(outfile, { entry: path.join(ROOT, 'plugins', 'netavark', 'main.ts') });
}
