/**
 * Value parsers for daemon.json keys: each takes the key and the raw JSON value and returns the
 * typed value, or throws a KeyProblem naming the key, the value and what was expected.
 */
import { canonicalSubnet, family, splitCidr } from '../kernel/addr';

/** One thing wrong with one key: `"mtu": true is not an integer from 68 to 65535`. */
export class KeyProblem extends Error {}

/** How a value appears in a message: strings bare (10.20.0.0/16), quoted only when bare they would read as another type ("false"). */
export function show(value: unknown): string {
  const readsAsOther = (t: string) => t.trim() === '' || t === 'true' || t === 'false' || t === 'null' || !Number.isNaN(Number(t));
  return typeof value === 'string' && !readsAsOther(value) ? value : JSON.stringify(value);
}

/** Throws the problem "<key>": <value> <text>. */
export function refuse(key: string, value: unknown, text: string): never {
  throw new KeyProblem(`"${key}": ${show(value)} ${text}`);
}

/** A parser of one key's value. */
export type Parse<T> = (key: string, value: unknown) => T;

/** true or false; a string is refused, as dockerd refuses it. */
export const bool: Parse<boolean> = (key, v) => (typeof v === 'boolean' ? v : refuse(key, v, 'is not a boolean (true or false)'));

/** A string of at least one character. */
export const text: Parse<string> = (key, v) => (typeof v === 'string' && v.length ? v : refuse(key, v, 'is not a non-empty string'));

/** An integer in [min, max]; a number written as a string ("1500", as tutorials write it) is accepted. */
export function integer(min: number, max: number, also: number[] = []): Parse<number> {
  return (key, v) => {
    const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || ((n < min || n > max) && !also.includes(n))) refuse(key, v, `is not an integer from ${min} to ${max}${also.length ? ` (or ${also.join(', ')})` : ''}`);
    return n as number;
  };
}

/** An IP address of the given family (any when omitted), returned as written. */
export function ip(fam?: 4 | 6): Parse<string> {
  const what = fam ? `an IPv${fam} address` : 'an IP address';
  return (key, v) => (typeof v === 'string' && family(v) && (!fam || family(v) === fam) ? v : refuse(key, v, `is not ${what}`));
}

/** A CIDR of the family, returned as written (the address part may be a host's, as in bip). */
export function cidr(fam: 4 | 6, example: string): Parse<string> {
  return (key, v) => {
    if (typeof v !== 'string' || !v.includes('/')) return refuse(key, v, `is not an IPv${fam} subnet with prefix length, e.g. ${example}`);
    let parsed;
    try {
      parsed = splitCidr(v);
    } catch {
      return refuse(key, v, `is not an IPv${fam} subnet with prefix length, e.g. ${example}`);
    }
    if (parsed.family !== fam) refuse(key, v, `is not an IPv${fam} subnet with prefix length, e.g. ${example}`);
    return v;
  };
}

/** bip: the bridge's own address with the subnet's prefix length (192.168.1.5/24), not the network address. */
export const bip: Parse<string> = (key, v) => {
  const value = cidr(4, '192.168.1.1/24')(key, v);
  const { ip: addr, prefix } = splitCidr(value);
  if (prefix > 30) refuse(key, v, 'leaves no room for sandboxes: the longest prefix is /30');
  if (canonicalSubnet(value) === `${addr}/${prefix}`) refuse(key, v, `is the subnet's network address; expected the bridge's own address, e.g. ${canonicalSubnet(value).replace(/\.0\//, '.1/')}`);
  return value;
};

/** A list whose every item passes item; the message names the whole list and the expected form. */
export function list<T>(item: Parse<T>, plural: string, one: string): Parse<T[]> {
  return (key, v) => {
    if (!Array.isArray(v)) return refuse(key, v, `is not a list of ${plural}`);
    return v.map((x) => {
      try {
        return item(key, x);
      } catch {
        return refuse(key, v, `holds ${JSON.stringify(x)}, which is not ${one}`);
      }
    });
  };
}

const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** A DNS search domain as dockerd's ValidateDNSSearch takes it ("." alone clears the list). */
export const searchDomain: Parse<string> = (key, v) => {
  if (typeof v !== 'string') return refuse(key, v, 'is not a domain name');
  const name = v.replace(/\.$/, '');
  if (v === '.' || (name.length && name.length <= 255 && name.split('.').every((l) => LABEL.test(l)))) return v;
  return refuse(key, v, 'is not a domain name');
};

/** A resolv.conf option as written after "options" (ndots:2, edns0): one word. */
export const resolverOption: Parse<string> = (key, v) => (typeof v === 'string' && /^[A-Za-z0-9_-]+(:[A-Za-z0-9_.-]+)?$/.test(v) ? v : refuse(key, v, 'is not a resolver option such as ndots:2'));

/** One entry of default-address-pools: a base subnet cut into subnets of size bits. */
export interface AddressPool {
  base: string;
  size: number;
}

/** default-address-pools: [{"base": "10.10.0.0/16", "size": 24}, …] (a size written as a string is accepted). */
export const addressPools: Parse<AddressPool[]> = (key, v) => {
  if (!Array.isArray(v)) return refuse(key, v, 'is not a list of {"base": subnet, "size": prefix length}');
  return v.map((entry) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return refuse(key, entry, 'is not {"base": subnet, "size": prefix length}');
    const extra = Object.keys(entry).filter((k) => k !== 'base' && k !== 'size');
    if (extra.length) refuse(key, entry, `has ${extra.map((k) => `"${k}"`).join(', ')}; expected only "base" and "size"`);
    const e = entry as Record<string, unknown>;
    if (typeof e.base !== 'string' || !e.base.includes('/') || !isCidr(e.base)) refuse(key, entry, 'has no valid "base" subnet, e.g. 10.10.0.0/16');
    const base = canonicalSubnet(e.base as string);
    const { prefix, family: fam } = splitCidr(base);
    const longest = fam === 4 ? 30 : 126;
    const size = integer(0, 128)(key, e.size ?? refuse(key, entry, 'has no "size"'));
    if (size < prefix || size > longest) refuse(key, entry, `has "size" ${size}, expected ${prefix} to ${longest} for base ${base}`);
    return { base, size };
  });
};

/** Whether text parses as a CIDR. */
function isCidr(textValue: string): boolean {
  try {
    splitCidr(textValue);
    return true;
  } catch {
    return false;
  }
}

/** An object of string values with only the given keys (cluster-store-opts). */
export function stringMap(allowed: string[]): Parse<Record<string, string>> {
  return (key, v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return refuse(key, v, 'is not an object of strings');
    for (const [k, x] of Object.entries(v)) {
      if (!allowed.includes(k)) refuse(key, v, `has "${k}"; expected only ${allowed.join(', ')}`);
      if (typeof x !== 'string') refuse(key, v, `has "${k}": ${JSON.stringify(x)}, which is not a string`);
    }
    return v as Record<string, string>;
  };
}

/** One of the given strings. */
export function oneOf<T extends string>(...choices: T[]): Parse<T> {
  return (key, v) => (choices.includes(v as T) ? (v as T) : refuse(key, v, `is not one of ${choices.join(', ')}`));
}

/** A string matching re, described by expected. */
export function matching(re: RegExp, expected: string): Parse<string> {
  return (key, v) => (typeof v === 'string' && re.test(v) ? v : refuse(key, v, `is not ${expected}`));
}
