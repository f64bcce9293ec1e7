/**
 * After a reboot (or anything else that took the namespaces tsnet made), the records of sandboxes
 * whose namespace is gone are dropped with their addresses and port reservations, so restore never
 * re-publishes ports to addresses that will go to new containers. Noticed cheaply: the kernel's
 * boot id is kept in the store, and only a changed one makes the sandboxes be looked at.
 */
import * as fs from 'node:fs';
import { bootId } from '../kernel/boot';
import { log } from '../log';
import type { Sandbox } from '../model';
import { keys } from '../store/store';
import { type Core, networkById, sandboxDir, sandboxEndpoints } from './core';
import { forgetEndpoint } from './endpoint';

const debug = log('tsnet:controller:reboot');
/** Key of the boot id the store's kernel state belongs to. */
const BOOT_KEY = 'host/boot-id';

/** Drops the records of every sandbox whose namespace is gone, when the boot id changed; returns their names. */
export async function reapAfterReboot(core: Core): Promise<string[]> {
  const now = bootId();
  if ((await core.local.get<string>(BOOT_KEY)) === now) return [];
  // The boot id tells which boot the sandboxes' namespaces belong to: with no sandbox there is
  // nothing to date, and not writing it keeps a command that is then refused from changing the store.
  if (!(await core.local.list('sandbox/')).length) return [];
  const reaped = await reapLostSandboxes(core);
  await core.local.txn(async (t) => t.put(BOOT_KEY, now));
  if (reaped.length) debug(`boot id changed: dropped ${reaped.length} sandbox(es) whose namespace is gone: ${reaped.join(', ')}`);
  return reaped;
}

/** Drops the records of every sandbox whose namespace is gone (and of those sharing a stack that went); returns their names. */
export async function reapLostSandboxes(core: Core): Promise<string[]> {
  const reaped: string[] = [];
  for (const { value: sb } of await core.local.list<Sandbox>('sandbox/')) {
    if (sb.mode !== 'own' && sb.mode !== 'none') continue;
    if (fs.existsSync(sb.key)) continue;
    await forgetSandbox(core, sb);
    reaped.push(sb.name);
  }
  // Shared-stack sandboxes whose owner went are gone with it.
  for (const { value: sb } of await core.local.list<Sandbox>('sandbox/')) {
    if (sb.sharedWith && !(await core.local.get(keys.sandbox(sb.sharedWith)))) {
      await forgetSandbox(core, sb);
      reaped.push(sb.name);
    }
  }
  return reaped;
}

/** Frees a lost sandbox's endpoints (addresses, ports, records), files and record; no kernel work: it is gone. */
async function forgetSandbox(core: Core, sb: Sandbox): Promise<void> {
  for (const ep of await sandboxEndpoints(core, sb.id)) {
    const net = await networkById(core, ep.networkId);
    if (net) await forgetEndpoint(core, net, ep);
  }
  fs.rmSync(sandboxDir(core, sb.id), { recursive: true, force: true });
  await core.local.txn(async (t) => {
    await t.delete(keys.sandbox(sb.id));
    if ((await t.get<string>(keys.sandboxName(sb.name))) === sb.id) await t.delete(keys.sandboxName(sb.name));
  });
}
