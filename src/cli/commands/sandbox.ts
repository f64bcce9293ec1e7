/** Sandbox verbs for administrators: create, ls, inspect, rm, exec; and `run`, the one-line form. */
import { type Command, Option } from 'commander';
import type { SandboxOptions } from '../../index';
import { collect, inspectEach, keyValues, printJson, printTable, withController } from '../common';
import { SANDBOX_LIST, sandboxRow, type SandboxView } from '../format/contexts';
import { inspectPrinter, listPrinter } from '../format/hooks';
import { SANDBOX_JSON } from '../format/types';
import { out } from '../io';
import { networkAttachments } from '../network-flag';

interface SandboxFlags {
  publish: string[]; publishAll?: boolean; hostname?: string; domainname?: string; network: string[]; ip?: string; ip6?: string; alias: string[]; dns: string[]; dnsSearch: string[];
  dnsOpt: string[]; addHost: string[]; expose: string[]; macAddress?: string; linkLocalIp: string[]; sysctl: string[]; link: string[];
}

/** Adds the options shared by `sandbox create` and `run`. */
function sandboxOptions(cmd: Command): Command {
  return cmd
    .option('--hostname <name>', 'hostname inside the sandbox')
    .option('--domainname <name>', 'domain name inside the sandbox (hosts: hostname.domainname)')
    .option('--network <net>', 'network, host, none or container:<sandbox> (default: bridge); repeatable; long form name=NET,alias=A,ip=IP,ip6=IP,mac-address=M,link-local-ip=IP,driver-opt=K=V', collect, [])
    // Docker's alias, into the same list so the order of --network and --net is kept.
    .addOption(new Option('--net <net>').hideHelp().argParser((v: string) => {
      cmd.setOptionValue('network', [...(cmd.getOptionValue('network') as string[]), v]);
      return undefined;
    }))
    .option('--ip <ipv4>', 'static IPv4 address on the network')
    .option('--ip6 <ipv6>', 'static IPv6 address on the network')
    .option('--alias <name>', 'DNS alias on the network (repeatable)', collect, [])
    .option('--mac-address <mac>', 'MAC address of the interface')
    .option('--dns <ip>', 'DNS server (repeatable)', collect, [])
    .option('--dns-search <domain>', 'DNS search domain (repeatable)', collect, [])
    .option('--dns-opt <option>', 'resolver option (repeatable)', collect, [])
    .option('--add-host <name:ip>', 'extra hosts entry (repeatable)', collect, [])
    .option('--link <name[:alias]>', 'hosts entry for another sandbox on a shared network, as Docker\'s legacy links (repeatable)', collect, [])
    .option('--link-local-ip <ip>', 'extra address on the first network\'s interface (repeatable)', collect, [])
    .option('--sysctl <key=value>', 'network namespace sysctl, e.g. net.ipv4.ip_forward=1 (repeatable)', collect, [])
    .option('--expose <port[-port][/proto]>', 'expose a port or a range (repeatable)', collect, [])
    .option('-p, --publish <spec>', 'publish a port: [ip:][hostPort:]containerPort[/proto], ranges allowed (repeatable)', collect, [])
    .option('-P, --publish-all', 'publish every exposed port on a random host port');
}

function toOptions(name: string, f: SandboxFlags): SandboxOptions {
  const wide = { ip: f.ip, ip6: f.ip6, aliases: f.alias, mac: f.macAddress, linkLocalIps: f.linkLocalIp };
  const [first, ...extraNetworks] = networkAttachments(f.network, wide);
  return {
    name, hostname: f.hostname, domainname: f.domainname, ...(first ?? wide), dns: f.dns, dnsSearch: f.dnsSearch, dnsOptions: f.dnsOpt, addHost: f.addHost, expose: f.expose,
    publish: f.publish, publishAll: f.publishAll, extraNetworks, sysctls: keyValues(f.sysctl, '--sysctl'), links: f.link,
  };
}

/** Registers `sandbox …` and `run`. */
export function registerSandboxCommands(program: Command): void {
  const sandbox = program.command('sandbox').description('manage sandboxes (a container network stack)');
  sandboxOptions(sandbox.command('create <name>').description('create a sandbox and connect it to its network'))
    .action(async (name: string, f: SandboxFlags, cmd: Command) => {
      const sb = await withController(cmd, (c) => c.createSandbox(toOptions(name, f)));
      out(sb.id + '\n');
    });
  sandbox.command('ls').alias('list').description('list sandboxes')
    .option('-q, --quiet', 'only ids')
    .option('--format <format>', 'json, table or a Go template with docker ps\'s names: \'table {{.ID}}\\t{{.Names}}\' (fields ID, Names, Networks, Ports, CreatedAt, RunningFor, Labels)')
    .option('--no-trunc', 'full ids')
    .action(async (f: { quiet?: boolean; format?: string; trunc: boolean }, cmd: Command) => {
      if (f.format !== undefined && !f.quiet) {
        const print = listPrinter(f.format, SANDBOX_LIST);
        const views = await withController(cmd, async (c) => inspectEach((await c.listSandboxes()).map((s) => s.id), (r) => c.inspectSandbox(r)), { readOnly: true });
        const now = Date.now();
        print(views.map((v) => sandboxRow(v as unknown as SandboxView, f.trunc, now)));
        return;
      }
      const rows = await withController(cmd, async (c) => {
        const out: string[][] = [];
        for (const s of await c.listSandboxes()) {
          const eps = await c.sandboxEndpoints(s.id);
          out.push([f.trunc ? s.id.slice(0, 12) : s.id, s.name, s.mode === 'own' ? 'private' : s.mode, eps.map((e) => e.ipv4?.split('/')[0]).filter(Boolean).join(',')]);
        }
        return out;
      }, { readOnly: true });
      if (f.quiet) for (const r of rows) out(r[0] + '\n');
      else printTable(['SANDBOX ID', 'NAME', 'STACK', 'IPV4'], rows);
    });
  sandbox.command('inspect <sandbox...>').description('show sandboxes as JSON, shaped like docker inspect')
    .option('-f, --format <template>', 'print each sandbox through a Go template, as docker inspect --format (e.g. {{.HostConfig.NetworkMode}})')
    .action(async (refs: string[], f: { format?: string }, cmd: Command) => {
      const print = f.format === undefined ? printJson : inspectPrinter(f.format, SANDBOX_JSON);
      print(await withController(cmd, (c) => inspectEach(refs, (r) => c.inspectSandbox(r)), { readOnly: true }));
    });
  sandbox.command('rm <sandbox...>').alias('remove').description('remove sandboxes and their endpoints')
    .action(async (refs: string[], _f: unknown, cmd: Command) => {
      await withController(cmd, async (c) => { for (const r of refs) { await c.deleteSandbox(r); out(r + '\n'); } });
    });
  sandbox.command('exec <sandbox> <command...>').description('run a command inside a sandbox: tsnet sandbox exec NAME -- CMD…')
    .action(async (ref: string, argv: string[], _f: unknown, cmd: Command) => {
      process.exitCode = await withController(cmd, (c) => c.exec(ref, argv), { readOnly: true });
    });
  sandboxOptions(program.command('run').description('create a sandbox and run a command in it: tsnet run --name N --network NET -- CMD…'))
    .requiredOption('--name <name>', 'sandbox name')
    .option('--rm', 'remove the sandbox when the command exits')
    .argument('<command...>')
    .action(async (argv: string[], f: SandboxFlags & { name: string; rm?: boolean }, cmd: Command) => {
      process.exitCode = await withController(cmd, async (c) => {
        await c.createSandbox(toOptions(f.name, f));
        try {
          return await c.exec(f.name, argv);
        } finally {
          if (f.rm) await c.deleteSandbox(f.name);
        }
      });
    });
}
