/** Validation of user-given names before any side effect: what a file name, an interface or DNS can hold. */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors';

/** Longest interface name the kernel accepts (IFNAMSIZ 16 minus the NUL). */
export const IFNAMSIZ = 15;
/** Longest sandbox name: one DNS label, since sandboxes are resolved by name. */
export const MAX_SANDBOX_NAME = 63;
/** Longest network name (a file-name-safe token). */
export const MAX_NETWORK_NAME = 64;

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAME_RE = /^[a-zA-Z0-9_.-]+$/;

/** Throws unless name is a valid network or sandbox name; what names the kind ("network", "sandbox"). */
export function validateName(what: 'network' | 'sandbox', name: string): string {
  const max = what === 'sandbox' ? MAX_SANDBOX_NAME : MAX_NETWORK_NAME;
  if (!name) throw new InvalidArgumentError(`invalid ${what} name "": a name is required`);
  if (name.length > max) throw new InvalidArgumentError(`invalid ${what} name "${name.slice(0, 20)}…": longer than ${max} characters`);
  if (!NAME_RE.test(name)) throw new InvalidArgumentError(`invalid ${what} name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name;
}

/** Whether name is a valid sandbox name (what validateName('sandbox', name) accepts). */
export function isSandboxName(name: string): boolean {
  return !!name && name.length <= MAX_SANDBOX_NAME && NAME_RE.test(name);
}

/** Throws unless name can be a Linux interface name. */
export function validateIfname(name: string, what = 'interface name'): string {
  if (!name || name.length > IFNAMSIZ) throw new InvalidArgumentError(`invalid ${what} "${name}": must be 1 to ${IFNAMSIZ} characters`);
  if (!IFNAME_RE.test(name) || name === '.' || name === '..') throw new InvalidArgumentError(`invalid ${what} "${name}": only [a-zA-Z0-9_.-] are allowed`);
  return name;
}

/** Random lowercase hex of the given length (ids, veth names). */
export function randomHex(len: number): string {
  return randomBytes(Math.ceil(len / 2)).toString('hex').slice(0, len);
}
