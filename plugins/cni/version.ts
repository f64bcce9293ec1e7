/** CNI spec versions this plugin speaks, and which command each version allows (as libcni's skel checks them). */
import { CniCode, CniError } from './codes';

/** The newest spec version implemented: results and errors default to it. */
export const LATEST_VERSION = '1.1.0';

/** Every config cniVersion accepted; VERSION reports this list. 0.1/0.2 results (ip4/ip6) are not produced. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** One of the supported versions. */
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The commands a plugin answers. */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

/** The first spec version that defines each command; a config older than that is refused with code 1. */
const INTRODUCED_IN: Record<CniCommand, string> = { ADD: '0.1.0', DEL: '0.1.0', VERSION: '0.1.0', CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };

/** Orders two dotted versions numerically ("0.10.0" after "0.4.0"); negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** Whether v is a version this plugin speaks. */
export function isSupported(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Throws code 1 unless the config's version is supported and defines the command. */
export function checkVersion(command: CniCommand, v: unknown): CniVersion {
  if (typeof v !== 'string' || !v) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config: cniVersion is required');
  if (!isSupported(v)) {
    throw new CniError(CniCode.IncompatibleVersion, `incompatible CNI versions: config is "${v}", plugin supports [${SUPPORTED_VERSIONS.join(' ')}]`);
  }
  if (compareVersions(v, INTRODUCED_IN[command]) < 0) {
    throw new CniError(CniCode.IncompatibleVersion, `config version "${v}" does not allow command ${command} (needs ${INTRODUCED_IN[command]} or later)`);
  }
  return v;
}
