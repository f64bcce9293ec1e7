/** The running kernel's boot id: tells state recorded before a reboot from state of this boot. */
import * as fs from 'node:fs';

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** The boot id ('' where the kernel does not publish one). */
export function bootId(): string {
  try {
    return fs.readFileSync(BOOT_ID_FILE, 'utf8').trim();
  } catch {
    return '';
  }
}
