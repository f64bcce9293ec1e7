/** `netavark version`: netavark's JSON (version, commit, build_time, target), the contract version it speaks, plus tsnet's own. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The netavark release whose contract this face implements (podman 4.3's). */
export const CONTRACT_VERSION = '1.4.0';

/** tsnet's package version, read from package.json beside the build tree. */
function tsnetVersion(): string {
  for (const dir of [path.join(__dirname, '../..'), path.join(__dirname, '../../..')]) {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // Not here: try the next candidate.
    }
  }
  return 'unknown';
}

/** What `version` prints (pretty, as netavark). */
export function versionInfo(): Record<string, string> {
  return { version: CONTRACT_VERSION, commit: `tsnet-${tsnetVersion()}`, build_time: '', target: `${process.arch}-linux`, tsnet: tsnetVersion() };
}
