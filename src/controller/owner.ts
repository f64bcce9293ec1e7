/** The process behind a record's transition (a network being created, an endpoint being connected), and whether it is gone. */
import { bootId } from '../kernel/boot';
import type { TransitionOwner } from '../model';

/** This process as the owner of a transition. */
export function transitionOwner(): TransitionOwner {
  return { pid: process.pid, boot: bootId() };
}

/** Whether the process that started a transition is gone (it died, or the machine rebooted since). */
export function ownerGone(o: TransitionOwner | undefined): boolean {
  if (!o) return false;
  if (o.boot !== bootId()) return true;
  try {
    process.kill(o.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
