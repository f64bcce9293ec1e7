/** Network verbs: create, ls, inspect, rm, prune — shaped like `docker network`. */
import type { Command } from 'commander';
import type { Controller, IpamConfig, Network, NetworkSpec } from '../../index';
import { collect, inspectEach, keyValues, printJson, withController } from '../common';
import { listFilter, type ListedNetwork, needsUse, pruneFilter } from '../filters';
import { NETWORK_LIST, networkRow, type NetworkView } from '../format/contexts';
import { inspectPrinter, listPrinter } from '../format/hooks';
import { NETWORK_RESOURCE } from '../format/types';
import { out } from '../io';
import { core, invalid } from '../lazy';

interface CreateFlags {
  driver: string; subnet: string[]; gateway: string[]; ipRange: string[]; auxAddress: string[]; ipv6?: boolean; internal?: boolean; opt: string[]; label: string[];
  ipamDriver?: string; ipamOpt: string[]; attachable?: boolean; scope?: 'local' | 'global'; configOnly?: boolean; configFrom?: string;
}

/** Pairs --gateway, --ip-range and --aux-address with the --subnet containing them, as Docker does. */
export function ipamConfigs(f: Pick<CreateFlags, 'subnet' | 'gateway' | 'ipRange' | 'auxAddress'>): IpamConfig[] {
  const configs: IpamConfig[] = f.subnet.map((subnet) => ({ subnet }));
  const owner = (ip: string, what: string) => {
    const { contains } = core();
    const c = configs.find((x) => { try { return contains(x.subnet!, ip.split('/')[0]); } catch { return false; } });
    if (!c) throw invalid(`${what} ${ip} is not in any --subnet${configs.length ? ` (${f.subnet.join(', ')})` : ''}`);
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
    .option('--ipam-driver <driver>', 'IPAM driver: default (the only one)')
    .option('--ipam-opt <key=value>', 'IPAM driver option, shown in IPAM.Options (repeatable)', collect, [])
    .option('--attachable', 'accepted and recorded, as Docker: every tsnet network takes sandboxes')
    .option('--scope <scope>', 'local or global; must be the driver\'s scope')
    .option('--config-only', 'only hold configuration (subnets, options) for networks created --config-from it')
    .option('--config-from <network>', 'take subnets, IPv6 and options from this configuration-only network')
    .action(async (netName: string, f: CreateFlags, cmd: Command) => {
      const spec: NetworkSpec = {
        name: netName, driver: f.driver, ipam: ipamConfigs(f), ipv6: !!f.ipv6, internal: !!f.internal, options: keyValues(f.opt, '--opt'), labels: keyValues(f.label, '--label', { bare: true }),
        ipamDriver: f.ipamDriver, ipamOptions: keyValues(f.ipamOpt, '--ipam-opt'), attachable: f.attachable, scope: f.scope, configOnly: f.configOnly, configFrom: f.configFrom,
      };
      const net = await withController(cmd, (c) => c.createNetwork(spec));
      out(net.id + '\n');
    });
}

/** The fields of `docker network ls` a network row shows. */
function lsView(n: Network): NetworkView {
  return { Id: n.id, Name: n.name, Driver: n.driver, Scope: n.scope, EnableIPv6: n.ipv6, Internal: n.internal, Labels: n.labels, Created: n.created };
}

function addLs(parent: Command, name: string): void {
  parent.command(name).alias('list').description('list networks')
    .option('-q, --quiet', 'only network ids')
    .option('-f, --filter <key=value>', 'filter (repeatable): name, id, driver, scope, type, label, dangling', collect, [])
    .option('--format <format>', 'table (default), json, or a Go template: \'table {{.ID}}\\t{{.Name}}\' (fields ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt)')
    .option('--no-trunc', 'full ids')
    .action(async (f: { quiet?: boolean; filter: string[]; format?: string; trunc: boolean }, cmd: Command) => {
      // Both checked before anything is read: a bad filter or template exits 2 at once.
      const keep = listFilter(f.filter);
      const print = f.quiet ? undefined : listPrinter(f.format ?? 'table', NETWORK_LIST);
      const nets = await withController(cmd, async (c) => {
        const listed: ListedNetwork[] = [];
        for (const net of await c.listNetworks()) listed.push({ net, inUse: needsUse(f.filter) && (await c.networkEndpoints(net.id)).length > 0 });
        return listed.filter(keep).map((l) => l.net);
      }, { readOnly: true });
      if (print) print(nets.map((n) => networkRow(lsView(n), f.trunc)));
      else for (const n of nets) out((f.trunc ? n.id.slice(0, 12) : n.id) + '\n');
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
    .option('-f, --force', 'disconnect attached sandboxes first, and do not fail when a network does not exist')
    .action(async (refs: string[], f: { force?: boolean }, cmd: Command) => {
      await withController(cmd, async (c) => {
        for (const r of refs) {
          if (f.force && !(await forceDisconnect(c, r))) continue;
          await c.deleteNetwork(r);
          out(r + '\n');
        }
      });
    });
}

/** rm -f's first step: disconnects every sandbox from network ref; false when there is no such network. */
async function forceDisconnect(c: Controller, ref: string): Promise<boolean> {
  let eps;
  try {
    eps = await c.networkEndpoints(ref);
  } catch (err) {
    if (err instanceof core().NotFoundError) return false;
    throw err;
  }
  // Endpoints an engine owns (no tsnet sandbox) stay, and the removal then names them.
  for (const ep of eps) await c.disconnect(ref, ep.sandboxId, { force: true }).catch((err) => { if (!(err instanceof core().NotFoundError)) throw err; });
  return true;
}

function addPrune(parent: Command, name: string): void {
  parent.command(name).description('remove every unused user-defined network')
    .option('-f, --force', 'do not prompt (tsnet never prompts; accepted for docker compatibility)')
    .option('--filter <key=value>', 'only networks created before until=<duration|time>, with label=<key>[=<value>], without label!=<key>[=<value>] (repeatable)', collect, [])
    .action(async (f: { filter: string[] }, cmd: Command) => {
      const keep = pruneFilter(f.filter);
      const removed = await withController(cmd, (c) => c.pruneNetworks(keep));
      if (removed.length) out(`Deleted Networks:\n${removed.join('\n')}\n`);
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
