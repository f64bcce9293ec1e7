/** `tsnet system gc`: reconcile on demand what every state-changing command and the daemon reconcile on their own. */
import type { Command } from 'commander';
import { withController } from '../common';
import { out } from '../io';

/** Registers `system gc`. */
export function registerSystemCommands(program: Command): void {
  const system = program.command('system').description('manage tsnet itself');
  system.command('gc').description('drop sandboxes whose namespace is gone (after a reboot), re-create lost bridges, re-apply firewall rules flushed from outside; prints what it fixed')
    .option('--format <format>', 'table (default) or json')
    .action(async (f: { format?: string }, cmd: Command) => {
      // Opened without the reconciling a state-changing open does, so gc itself finds (and reports) what was wrong.
      const fixed = await withController(cmd, (c) => c.gc(), { readOnly: true });
      if (f.format === 'json') {
        out(JSON.stringify(fixed) + '\n');
        return;
      }
      out(`sandboxes removed: ${fixed.sandboxesRemoved.join(' ') || '-'}\nhalf-made endpoints removed: ${fixed.endpointsRemoved.join(' ') || '-'}\nfirewall re-applied: ${fixed.firewallReapplied.join(' ') || '-'}\n`);
    });
}
