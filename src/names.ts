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

/** Primary weights of the name characters in Unicode's root collation: `_` < `-` < `.` < digits < letters (case folded). */
function primaryWeight(c: number): number {
  if (c === 95) return 0; // _
  if (c === 45) return 1; // -
  if (c === 46) return 2; // .
  if (c >= 48 && c <= 57) return 3 + c - 48;
  if (c >= 97 && c <= 122) return 13 + c - 97;
  if (c >= 65 && c <= 90) return 13 + c - 65;
  // Outside the name alphabet (records of other faces): after every name character, by code point.
  return 100 + c;
}

/**
 * Orders names as String.prototype.localeCompare does in the root locale for the name alphabet
 * ([a-zA-Z0-9_.-]: letters case-insensitive first, lowercase before uppercase on a tie), without
 * the ~20 ms ICU collator start a one-shot `tsnet ls` would pay for it.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = primaryWeight(a.charCodeAt(i)) - primaryWeight(b.charCodeAt(i));
    if (d) return d < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    // Same letter, other case: lowercase first.
    if (x !== y) return x > y ? -1 : 1;
  }
  return 0;
}

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
