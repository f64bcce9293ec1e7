/** `tsnet port SANDBOX [PORT[/PROTO]]`: the sandbox's published ports, printed as `docker port` does. */
import type { Command } from 'commander';
import type { PortBinding } from '../../index';
import { withController } from '../common';
import { out } from '../io';
import { core, invalid } from '../lazy';

/** "0.0.0.0:8080" / "[::1]:8080" for a binding's host side. */
export function hostSide(b: PortBinding): string[] {
  if (b.hostIp === '') return [`0.0.0.0:${b.hostPort}`, `[::]:${b.hostPort}`];
  return [b.hostIp.includes(':') ? `[${b.hostIp}]:${b.hostPort}` : `${b.hostIp}:${b.hostPort}`];
}

/** Lines of `docker port` output for bindings, optionally only for one container port. */
export function portLines(bindings: PortBinding[], filter?: string): string[] {
  if (filter !== undefined && !/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(filter)) throw invalid(`invalid port "${filter}": expected PORT[/PROTO]`);
  const [port, proto = 'tcp'] = filter?.split('/') ?? [];
  const chosen = bindings.filter((b) => filter === undefined || (b.containerPort === Number(port) && b.protocol === proto));
  if (filter !== undefined && !chosen.length) throw new (core().NotFoundError)(`no public port '${filter}' published`);
  const sorted = [...chosen].sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol) || a.hostPort - b.hostPort);
  return sorted.flatMap((b) => hostSide(b).map((h) => (filter === undefined ? `${b.containerPort}/${b.protocol} -> ${h}` : h)));
}

/** Registers `port`. */
export function registerPortCommand(program: Command): void {
  program.command('port <sandbox> [port]').description('list port mappings of a sandbox, or the mapping of one PORT[/PROTO]')
    .action(async (ref: string, port: string | undefined, _f: unknown, cmd: Command) => {
      const lines = await withController(cmd, async (c) => portLines((await c.sandboxEndpoints(ref)).flatMap((e) => e.ports), port), { readOnly: true });
      for (const l of lines) out(l + '\n');
    });
}
