/** Network verbs: create, ls, inspect, rm, prune — shaped like `docker network`. */
import type { Command } from 'commander';
import { contains, InvalidArgumentError, type IpamConfig, type Network } from '../../index';
import { collect, inspectEach, keyValues, printJson, withController } from '../common';
import { NETWORK_LIST, networkRow, type NetworkView } from '../format/contexts';
import { inspectPrinter, listPrinter } from '../format/hooks';
import { NETWORK_RESOURCE } from '../format/types';

interface CreateFlags { driver: string; subnet: string[]; gateway: string[]; ipRange: string[]; auxAddress: string[]; ipv6?: boolean; internal?: boolean; opt: string[]; label: string[] }

/** Pairs --gateway, --ip-range and --aux-address with the --subnet containing them, as Docker does. */
export function ipamConfigs(f: Pick<CreateFlags, 'subnet' | 'gateway' | 'ipRange' | 'auxAddress'>): IpamConfig[] {
  const configs: IpamConfig[] = f.subnet.map((subnet) => ({ subnet }));
  const owner = (ip: string, what: string) => {
    const c = configs.find((x) => { try { return contains(x.subnet!, ip.split('/')[0]); } catch { return false; } });
    if (!c) throw new InvalidArgumentError(`${what} ${ip} is not in any --subnet${configs.length ? ` (${f.subnet.join(', ')})` : ''}`);
    return c;
  };
  for (const g of f.gateway) owner(g, 'gateway').gateway = g;
  for (const r of f.ipRange) owner(r, 'ip-range').ipRange = r;
  for (const [name, ip] of Object.entries(keyValues(f.auxAddress, '--aux-address'))) {
    const c = owner(ip, 'aux-address');
    c.auxAddresses = { ...c.auxAddresses, [name]: ip };
  }
  return configs;
}

function addCreate(parent: Command, name: string): void {
  parent.command(`${name} <name>`).description('create a network')
    .option('-d, --driver <driver>', 'driver: bridge (default)', 'bridge')
    .option('--subnet <cidr>', 'subnet (repeatable, v4 and v6)', collect, [])
    .option('--gateway <ip>', 'gateway of the subnet containing it (repeatable)', collect, [])
    .option('--ip-range <cidr>', 'allocate container addresses from this sub-range (repeatable)', collect, [])
    .option('--aux-address <name=ip>', 'reserve an address for another host (repeatable)', collect, [])
    .option('--ipv6', 'enable IPv6')
    .option('--internal', 'no access to or from the outside')
    .option('-o, --opt <key=value>', 'driver option (repeatable)', collect, [])
    .option('--label <key=value>', 'label (repeatable)', collect, [])
    .action(async (netName: string, f: CreateFlags, cmd: Command) => {
      const spec = { name: netName, driver: f.driver, ipam: ipamConfigs(f), ipv6: !!f.ipv6, internal: !!f.internal, options: keyValues(f.opt, '--opt'), labels: keyValues(f.label, '--label') };
      const net = await withController(cmd, (c) => c.createNetwork(spec));
      process.stdout.write(net.id + '\n');
    });
}

/** Whether a network passes every --filter (name=, id=, driver=, label=, scope=, type=). */
function matches(net: Network, filters: string[]): boolean {
  return filters.every((f) => {
    const [k, v = ''] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)];
    switch (k) {
      case 'name': return net.name.includes(v);
      case 'id': return net.id.startsWith(v);
      case 'driver': return net.driver === v;
      case 'scope': return net.scope === v;
      // The driver says which networks are predefined: a face does not read option keys.
      case 'type': return (v === 'builtin') === !!net.info.predefined;
      case 'label': { const [lk, lv] = v.split('='); return lk in net.labels && (lv === undefined || net.labels[lk] === lv); }
      default: throw new InvalidArgumentError(`invalid filter "${f}": known keys are name, id, driver, scope, type, label`);
    }
  });
}

/** The fields of `docker network ls` a network row shows. */
function lsView(n: Network): NetworkView {
  return { Id: n.id, Name: n.name, Driver: n.driver, Scope: n.scope, EnableIPv6: n.ipv6, Internal: n.internal, Labels: n.labels, Created: n.created };
}

function addLs(parent: Command, name: string): void {
  parent.command(name).alias('list').description('list networks')
    .option('-q, --quiet', 'only network ids')
    .option('-f, --filter <key=value>', 'filter (repeatable): name, id, driver, scope, type, label', collect, [])
    .option('--format <format>', 'table (default), json, or a Go template: \'table {{.ID}}\\t{{.Name}}\' (fields ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt)')
    .option('--no-trunc', 'full ids')
    .action(async (f: { quiet?: boolean; filter: string[]; format?: string; trunc: boolean }, cmd: Command) => {
      const print = f.quiet ? undefined : listPrinter(f.format ?? 'table', NETWORK_LIST);
      const nets = await withController(cmd, async (c) => (await c.listNetworks()).filter((n) => matches(n, f.filter)), { readOnly: true });
      if (print) print(nets.map((n) => networkRow(lsView(n), f.trunc)));
      else for (const n of nets) process.stdout.write((f.trunc ? n.id.slice(0, 12) : n.id) + '\n');
    });
}

function addInspect(parent: Command, name: string): void {
  parent.command(`${name} <network...>`).description('show networks as JSON, shaped like docker network inspect')
    .option('-f, --format <template>', 'print each network through a Go template, as docker network inspect --format')
    .action(async (refs: string[], f: { format?: string }, cmd: Command) => {
      const print = f.format === undefined ? printJson : inspectPrinter(f.format, NETWORK_RESOURCE);
      print(await withController(cmd, (c) => inspectEach(refs, (r) => c.inspectNetwork(r)), { readOnly: true }));
    });
}

function addRm(parent: Command, name: string): void {
  parent.command(`${name} <network...>`).alias('remove').description('remove networks (refused while sandboxes are attached)')
    .action(async (refs: string[], _f: unknown, cmd: Command) => {
      await withController(cmd, async (c) => {
        for (const r of refs) {
          await c.deleteNetwork(r);
          process.stdout.write(r + '\n');
        }
      });
    });
}

function addPrune(parent: Command, name: string): void {
  parent.command(name).description('remove every unused user-defined network')
    .option('-f, --force', 'do not prompt (tsnet never prompts; accepted for docker compatibility)')
    .action(async (_f: unknown, cmd: Command) => {
      const removed = await withController(cmd, (c) => c.pruneNetworks());
      if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
    });
}

/** Registers the network verbs on parent (both `tsnet create` and `tsnet network create`). */
export function registerNetworkCommands(parent: Command): void {
  addCreate(parent, 'create');
  addLs(parent, 'ls');
  addInspect(parent, 'inspect');
  addRm(parent, 'rm');
  addPrune(parent, 'prune');
}
