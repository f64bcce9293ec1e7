/** The firewall's cross-process lock: the kernel layer's lock file (one implementation for every face). */
export { withFileLock as withLock } from '../kernel/lock';
