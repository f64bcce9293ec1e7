/** connect / disconnect: attach a sandbox to a network and detach it. */
import type { Command } from 'commander';
import { collect, keyValues, withController } from '../common';

interface ConnectFlags { ip?: string; ip6?: string; alias: string[]; publish: string[]; publishAll?: boolean; linkLocalIp: string[]; driverOpt: string[] }

/** Registers connect and disconnect on parent. */
export function registerConnectCommands(parent: Command): void {
  parent.command('connect <network> <sandbox>').description('connect a sandbox to a network')
    .option('--ip <ipv4>', 'static IPv4 address')
    .option('--ip6 <ipv6>', 'static IPv6 address')
    .option('--alias <name>', 'DNS alias on this network (repeatable)', collect, [])
    .option('-p, --publish <spec>', 'publish a port through this network (repeatable)', collect, [])
    .option('-P, --publish-all', 'publish every exposed port of the sandbox on a random host port')
    .option('--link-local-ip <ip>', 'extra address on the interface, e.g. 169.254.1.5 (repeatable)', collect, [])
    .option('--driver-opt <key=value>', 'endpoint option: com.docker.network.endpoint.ifname, com.docker.network.endpoint.sysctls (repeatable)', collect, [])
    .action(async (net: string, sb: string, f: ConnectFlags, cmd: Command) => {
      const opts = { ip: f.ip, ip6: f.ip6, aliases: f.alias, publish: f.publish, publishAll: f.publishAll, linkLocalIps: f.linkLocalIp, driverOpts: keyValues(f.driverOpt, '--driver-opt') };
      await withController(cmd, (c) => c.connect(net, sb, opts));
    });
  parent.command('disconnect <network> <sandbox>').description('disconnect a sandbox from a network')
    .option('-f, --force', 'succeed even when the sandbox is not connected')
    .action(async (net: string, sb: string, f: { force?: boolean }, cmd: Command) => {
      await withController(cmd, (c) => c.disconnect(net, sb, { force: f.force }));
    });
}
