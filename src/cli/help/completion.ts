/**
 * Shell completion: `tsnet completion bash|zsh|fish` prints a script that asks the hidden
 * `tsnet __complete -- WORDS… CURRENT` for candidates, so commands, flags and network and sandbox
 * names all come from the commander definitions and the state directory at the time of the <TAB>.
 */
import type { Command, Option } from 'commander';
import type { Controller } from '../../index';
import { out } from '../io';
import { core, invalid } from '../lazy';

/** Where completion finds the names it offers. */
export interface NameSource {
  networks(): Promise<string[]>;
  sandboxes(): Promise<string[]>;
}

/** Fixed values of options that take one of a few words. */
const OPTION_VALUES: Record<string, string[]> = {
  '--driver': ['bridge', 'macvlan', 'ipvlan', 'overlay'],
  '--format': ['json', 'table'],
  '--firewall-backend': ['iptables', 'nftables'],
};

/** The option of cmd or of a command above it that flag names (`--subnet`, `-d`). */
function findOption(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

/** Flags offered after "-": the command's own, then the root's global ones. */
function flagsOf(cmd: Command): string[] {
  const scopes = cmd.parent ? [cmd, rootOf(cmd)] : [cmd];
  return [...scopes.flatMap((c) => c.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short])), '--help'].filter((f): f is string => !!f);
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** Values for an option that takes a network, a driver, a format …; [] lets the shell stay silent. */
async function optionValues(opt: Option, names: NameSource): Promise<string[]> {
  if (opt.long === '--network') return ['host', 'none', ...(await names.networks()), ...(await names.sandboxes()).map((s) => `container:${s}`)];
  return OPTION_VALUES[opt.long ?? ''] ?? [];
}

/** Values for a positional argument, by its name in the definition (<network…>, <sandbox>). */
async function argumentValues(name: string, names: NameSource): Promise<string[]> {
  if (name === 'network') return names.networks();
  if (name === 'sandbox') return names.sandboxes();
  return [];
}

const visible = (cmd: Command) => cmd.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map((c) => c.name());

/**
 * Candidates for the last of words (the word being completed; the others were typed before it),
 * all words after `tsnet`. Candidates are filtered by the current word's prefix.
 */
export async function complete(root: Command, words: string[], names: NameSource): Promise<string[]> {
  const cur = words.length ? words[words.length - 1] : '';
  let cmd = root;
  let positional = 0;
  let pending: Option | undefined;
  let helpFor = false;
  for (const w of words.slice(0, -1)) {
    if (pending) { pending = undefined; continue; }
    if (w.startsWith('-') && w !== '-') {
      const opt = findOption(cmd, w.split('=')[0]);
      if (opt && (opt.required || opt.optional) && !w.includes('=')) pending = opt;
      continue;
    }
    const sub = positional === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) { cmd = sub; continue; }
    if (cmd === root && w === 'help') { helpFor = true; continue; }
    positional++;
  }
  let out: string[];
  if (pending) out = await optionValues(pending, names);
  else if (cur.startsWith('-')) out = flagsOf(cmd);
  else if (helpFor) out = positional === 0 ? visible(cmd) : [];
  else if (cmd.commands.length && positional === 0) out = [...visible(cmd), ...(cmd === root ? ['help'] : [])];
  else {
    const args = cmd.registeredArguments;
    const arg = args[Math.min(positional, args.length - 1)];
    out = arg && (positional < args.length || arg.variadic) ? await argumentValues(arg.name(), names) : [];
  }
  return [...new Set(out)].filter((c) => c.startsWith(cur));
}

/** Names from the state directory the typed words name (--state-dir), read-only; none when it cannot be read. */
export function stateNames(words: string[]): NameSource {
  const i = words.findIndex((w) => w === '--state-dir' || w.startsWith('--state-dir='));
  const stateDir = i < 0 ? core().defaultStateDir() : words[i].includes('=') ? words[i].split('=')[1] : words[i + 1];
  const read = async <T>(fn: (c: Controller) => Promise<T[]>): Promise<T[]> => {
    try {
      const c = await core().Controller.open({ stateDir, readOnly: true });
      try { return await fn(c); } finally { await c.close(); }
    } catch {
      return [];
    }
  };
  return {
    networks: () => read(async (c) => (await c.listNetworks()).map((n) => n.name)),
    sandboxes: () => read(async (c) => (await c.listSandboxes()).map((s) => s.name)),
  };
}

const BASH = `# bash completion for tsnet: source <(tsnet completion bash)
_tsnet() {
  # Words split on blanks only (COMP_WORDS would also split container:NAME at the colon).
  local -a words
  local line=\${COMP_LINE:0:COMP_POINT} IFS=$' \\t\\n'
  read -ra words <<< "$line"
  [[ $line == *[[:space:]] ]] && words+=("")
  local cur=\${words[\${#words[@]}-1]}
  IFS=$'\\n'
  COMPREPLY=($(tsnet __complete -- "\${words[@]:1}" 2>/dev/null))
  # bash replaces only what follows the word's last colon when ':' breaks words.
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix=\${cur%:*}:
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
}
complete -o default -F _tsnet tsnet
`;

const ZSH = `#compdef tsnet
# zsh completion for tsnet: source <(tsnet completion zsh), or save as _tsnet in your $fpath
_tsnet() {
  local -a candidates
  # Unquoted (f) splits on newlines and drops the empty word an empty answer would add.
  candidates=(\${(f)"$(tsnet __complete -- "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null)"})
  compadd -a candidates
}
if [ "$funcstack[1]" = "_tsnet" ]; then _tsnet "$@"; else compdef _tsnet tsnet; fi
`;

const FISH = `# fish completion for tsnet: tsnet completion fish > ~/.config/fish/completions/tsnet.fish
function __tsnet_complete
    set -l words (commandline -opc)
    tsnet __complete -- $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c tsnet -f -a '(__tsnet_complete)'
`;

/** The completion script for shell. */
export function completionScript(shell: string): string {
  const scripts: Record<string, string> = { bash: BASH, zsh: ZSH, fish: FISH };
  if (!(shell in scripts)) throw invalid(`unknown shell "${shell}": bash, zsh or fish`);
  return scripts[shell];
}

/** Registers `completion SHELL` and the hidden `__complete` the scripts call. */
export function registerCompletionCommands(program: Command): void {
  program.command('completion <shell>').description('print a shell completion script (bash, zsh or fish) that completes commands, flags, networks and sandboxes')
    .action((shell: string) => { out(completionScript(shell)); });
  program.command('__complete', { hidden: true }).argument('[words...]').allowUnknownOption()
    .action(async (words: string[] = []) => {
      const got = await complete(program, words, stateNames(words));
      if (got.length) out(got.join('\n') + '\n');
    });
}
