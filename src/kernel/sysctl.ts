/** Kernel parameters under /proc/sys, in the host or in a namespace. */
import * as fs from 'node:fs';
import { InternalError } from '../errors';
import { withNetns } from './netns';

/** The /proc/sys file of a key: "net.ipv4.ip_forward", or slash-separated when a segment holds dots (an interface "br.0"), as sysctl(8) allows. */
function sysctlFile(key: string): string {
  return '/proc/sys/' + (key.includes('/') ? key : key.replace(/\./g, '/'));
}

/** Writes value to the kernel parameter key, inside nsPath when given; returns the previous value. */
export function setSysctl(key: string, value: string, nsPath?: string): string {
  const file = sysctlFile(key);
  // /proc/sys/net is resolved against the namespace of the thread that opens the file.
  const write = () => {
    const before = fs.readFileSync(file, 'utf8').trim();
    if (before !== value) fs.writeFileSync(file, value);
    return before;
  };
  try {
    return nsPath ? withNetns(nsPath, write) : write();
  } catch (err) {
    throw new InternalError(`sysctl ${key}=${value}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads a kernel parameter, inside nsPath when given. */
export function getSysctl(key: string, nsPath?: string): string {
  const file = sysctlFile(key);
  const read = () => fs.readFileSync(file, 'utf8').trim();
  return nsPath ? withNetns(nsPath, read) : read();
}
