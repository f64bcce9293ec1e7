/** Completion candidates, examples and man pages, all from the commander definitions. */
import { strict as assert } from 'node:assert';
import { Command } from 'commander';
import { buildProgram, commandPart, COMMAND_PARTS } from '../../../src/cli/main';
import { complete, completionScript, type NameSource } from '../../../src/cli/help/completion';
import { allCommands, examplesOf } from '../../../src/cli/help/examples';
import { manPages, roff } from '../../../src/cli/help/man';

const names: NameSource = { networks: async () => ['bridge', 'mynet', 'mydb'], sandboxes: async () => ['web', 'worker'] };
const hidden = (c: { _hidden?: boolean }) => !!c._hidden;

describe('cli help: completion', () => {
  const program = buildProgram();
  const cases: [string[], (got: string[]) => void][] = [
    [[''], (g) => ['create', 'ls', 'sandbox', 'network', 'connect', 'completion', 'help'].forEach((c) => assert.ok(g.includes(c), c))],
    [['sa'], (g) => assert.deepEqual(g, ['sandbox'])],
    [['sandbox', ''], (g) => assert.deepEqual(g.sort(), ['create', 'exec', 'inspect', 'ls', 'rm'])],
    [['inspect', 'my'], (g) => assert.deepEqual(g, ['mynet', 'mydb'])],
    [['network', 'rm', 'mynet', ''], (g) => assert.deepEqual(g, ['bridge', 'mynet', 'mydb'])],
    [['connect', 'mynet', 'w'], (g) => assert.deepEqual(g, ['web', 'worker'])],
    [['connect', 'mynet', 'web', ''], (g) => assert.deepEqual(g, [])],
    [['sandbox', 'exec', ''], (g) => assert.deepEqual(g, ['web', 'worker'])],
    [['sandbox', 'create', 'x', '--network', ''], (g) => assert.deepEqual(g, ['host', 'none', 'bridge', 'mynet', 'mydb', 'container:web', 'container:worker'])],
    [['run', '--network', 'c'], (g) => assert.deepEqual(g, ['container:web', 'container:worker'])],
    [['create', '-d', ''], (g) => assert.deepEqual(g, ['bridge', 'macvlan', 'ipvlan', 'overlay'])],
    [['create', '--subnet', '10.0.0.0/8', '--i'], (g) => assert.deepEqual(g, ['--ip-range', '--ipv6', '--internal', '--ipam-driver', '--ipam-opt'])],
    [['ls', '--format', ''], (g) => assert.deepEqual(g, ['json', 'table'])],
    [['--state-dir', '/tmp/x', 'ls', '--'], (g) => ['--quiet', '--filter', '--format', '--no-trunc', '--state-dir', '--help'].forEach((f) => assert.ok(g.includes(f), f))],
    [['help', 'cr'], (g) => assert.deepEqual(g, ['create'])],
    [['completion', ''], (g) => assert.deepEqual(g, [])],
  ];
  for (const [words, check] of cases) it(`completes tsnet ${words.join(' ')}<TAB>`, async () => check(await complete(program, words, names)));

  it('prints a script per shell and refuses others in one line', () => {
    for (const shell of ['bash', 'zsh', 'fish']) assert.match(completionScript(shell), /tsnet __complete --/);
    assert.throws(() => completionScript('tcsh'), /unknown shell "tcsh": bash, zsh or fish/);
  });
});

describe('cli help: examples and man pages', () => {
  const program = buildProgram();
  const visible = allCommands(program).filter((c) => !hidden(c as never));

  it('has one or two examples for every command', () => {
    for (const cmd of visible) {
      const n = examplesOf(cmd).length;
      assert.ok(n >= 1 && n <= 2, `${cmd.name()}: ${n} examples`);
    }
  });

  it('has a man page for every command, with its synopsis, options and examples', () => {
    const pages = manPages(program, '9.9.9');
    assert.equal(pages.size, visible.length);
    for (const f of ['tsnet.1', 'tsnet-create.1', 'tsnet-network-create.1', 'tsnet-sandbox-create.1', 'tsnet-system-gc.1', 'tsnet-completion.1']) assert.ok(pages.has(f), f);
    const create = pages.get('tsnet-create.1')!;
    assert.match(create, /^\.TH TSNET-CREATE 1 "" "tsnet 9\.9\.9" "tsnet manual"\n\.SH NAME\ntsnet\\-create \\- create a network\n/);
    assert.match(create, /\.SH SYNOPSIS\n\.B tsnet create\n\[options\] <name>\n/);
    assert.match(create, /\\fB\\-\\-subnet\\fR \\fI<cidr>\\fR\n/);
    assert.match(create, /\.SH EXAMPLES\n\.PP\n\.RS\n\.nf\ntsnet create \\-d bridge/);
    assert.match(pages.get('tsnet.1')!, /\.SH COMMANDS\n(.|\n)*\\fBtsnet\\-sandbox\\fR\(1\)/);
    assert.ok(![...pages.keys()].some((f) => f.includes('__complete')));
  });

  it('escapes roff', () => {
    assert.equal(roff(".start\n'quote a-b c\\d"), "\\&.start\n\\&'quote a\\-b c\\ed");
  });
});

describe('cli help: a command line builds only its part of the tree', () => {
  const full = buildProgram();
  const topNames = (c: Command) => c.commands.flatMap((s) => [s.name(), ...s.aliases()]);

  it('names each part by exactly the top-level commands and aliases it registers, all of them once', () => {
    for (const part of COMMAND_PARTS) {
      const root = new Command('tsnet');
      part.register(root);
      assert.deepEqual(topNames(root).sort(), [...part.names].sort());
    }
    assert.deepEqual(COMMAND_PARTS.flatMap((p) => p.names).sort(), topNames(full).sort());
  });

  it('finds the command word past the root options, and builds everything for help, --version and unknown words', () => {
    const part = (argv: string[]) => commandPart(argv)?.names[0];
    assert.equal(part(['ls']), 'create');
    assert.equal(part(['--state-dir', '/x', 'sandbox', 'ls']), 'sandbox');
    assert.equal(part(['--state-dir=/x', '--firewall-backend', 'iptables', 'run', '--name', 'a']), 'sandbox');
    assert.equal(part(['network', 'connect', 'n', 's']), 'network');
    for (const argv of [[], ['--help'], ['-v'], ['help', 'ls'], ['lss'], ['--bogus', 'ls'], ['completion', 'bash'], ['__complete', 'l'], ['--state-dir']]) assert.equal(part(argv), undefined, argv.join(' '));
  });

  it('gives each command the same help, options and examples as the whole tree does', () => {
    for (const part of COMMAND_PARTS) {
      for (const name of part.names) {
        const alone = buildProgram([name]);
        assert.deepEqual(topNames(alone).sort(), commandPart([name]) ? [...part.names].sort() : topNames(full).sort(), name);
        const sub = (c: Command) => c.commands.find((s) => s.name() === name || s.aliases().includes(name))!;
        const all = (c: Command): string[] => [c.helpInformation(), ...examplesOf(c), ...c.commands.flatMap(all)];
        assert.deepEqual(all(sub(alone)), all(sub(full)), name);
      }
    }
  });
});
