/** /etc/hostname for sandboxes. */
import { InvalidArgumentError } from '../../errors';

/** Longest hostname the kernel keeps (HOST_NAME_MAX). */
export const MAX_HOSTNAME = 64;

/** Throws unless hostname is an RFC 1123 host name the kernel accepts; returns it. */
export function validateHostname(hostname: string): string {
  if (!hostname || hostname.length > MAX_HOSTNAME || !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(hostname) || hostname.includes('..')) {
    throw new InvalidArgumentError(`invalid hostname "${hostname}": letters, digits, dots and dashes, at most ${MAX_HOSTNAME} characters`);
  }
  return hostname;
}

/** The sandbox's hostname file text. */
export function renderHostname(hostname: string): string {
  return validateHostname(hostname) + '\n';
}
