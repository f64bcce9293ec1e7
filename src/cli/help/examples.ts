/**
 * One or two examples per command, shown by `tsnet help CMD`, `tsnet CMD --help` and the man pages
 * (all three read the commander definitions plus this table).
 */
import type { Command } from 'commander';

/** Examples by command path ("create", "sandbox create"); the `network` group reuses the top-level verbs'. */
export const EXAMPLES: Record<string, string[]> = {
  '': ['tsnet create --subnet 172.25.0.0/16 mynet && tsnet sandbox create web --network mynet -p 8080:80', 'tsnet ls --format "table {{.Name}}\\t{{.Driver}}"'],
  create: ['tsnet create -d bridge --subnet 172.25.0.0/16 --gateway 172.25.0.1 mynet', 'tsnet create --ipv6 --subnet fd00:25::/64 --internal -o bridge_name=br-db dbnet'],
  ls: ['tsnet ls --filter driver=bridge -q', 'tsnet ls --format "table {{.ID}}\\t{{.Name}}\\t{{.Labels}}"'],
  inspect: ['tsnet inspect mynet', "tsnet inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' mynet"],
  rm: ['tsnet rm mynet othernet'],
  prune: ['tsnet prune -f'],
  connect: ['tsnet connect --ip 172.25.0.9 --alias db mynet web'],
  disconnect: ['tsnet disconnect mynet web', 'tsnet disconnect -f mynet web   # succeeds when not connected'],
  network: ['tsnet network create mynet', 'tsnet network ls'],
  sandbox: ['tsnet sandbox create web --network mynet', 'tsnet sandbox ls'],
  'sandbox create': ['tsnet sandbox create web --network mynet --alias www -p 8080:80', 'tsnet sandbox create sidecar --network container:web'],
  'sandbox ls': ['tsnet sandbox ls -q', 'tsnet sandbox ls --format "table {{.Names}}\\t{{.Networks}}\\t{{.Ports}}"'],
  'sandbox inspect': ['tsnet sandbox inspect web', "tsnet sandbox inspect -f '{{.HostConfig.NetworkMode}}' web"],
  'sandbox rm': ['tsnet sandbox rm web sidecar'],
  'sandbox exec': ['tsnet sandbox exec web -- ip addr', 'tsnet sandbox exec web -- cat /etc/resolv.conf'],
  run: ['tsnet run --name job --network mynet --rm -- wget -qO- http://web/'],
  port: ['tsnet port web', 'tsnet port web 80/tcp'],
  daemon: ['tsnet daemon', 'tsnet --state-dir /var/lib/tsnet daemon'],
  system: ['tsnet system gc'],
  'system gc': ['tsnet system gc --format json'],
  completion: ['tsnet completion bash > /etc/bash_completion.d/tsnet', 'source <(tsnet completion zsh)'],
};

/** A command's path below the root, without the `network` group prefix ("sandbox create", "create"). */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  if (names[0] === 'network' && names.length > 1) names.shift();
  return names.join(' ');
}

/** The examples of cmd, as lines ready to print. */
export function examplesOf(cmd: Command): string[] {
  return EXAMPLES[commandPath(cmd)] ?? [];
}

/** Every command of the tree, depth first (the root first). */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

/** Appends each command's examples to its --help (and so to `tsnet help CMD`). */
export function attachExamples(root: Command): void {
  for (const cmd of allCommands(root)) {
    const examples = examplesOf(cmd);
    if (examples.length) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  }
}
