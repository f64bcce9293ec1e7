/**
 * The habits of a CLI: --version, help with examples, completion scripts driven by real bash, zsh
 * and fish (network and sandbox names from the state directory), and man pages that man renders.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, tsnet } from '../../helpers/cli';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const run = process.pid.toString(36);

/** Runs a program with a PATH on which `tsnet` is this build. */
function withTsnet(bin: string, file: string, args: string[], input?: string): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(file, args, { encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: bin } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

const have = (exe: string) => spawnSync('sh', ['-c', `command -v ${exe}`]).status === 0;

describe('cli habits: version, help, completion, man', function () {
  this.timeout(180_000);
  const net = `compnet-${run}`;
  const sb = `compsb-${run}`;
  let bin = '';

  before(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bin-'));
    fs.writeFileSync(path.join(bin, 'tsnet'), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`, { mode: 0o755 });
    assert.equal(tsnet('create', '--subnet', '172.22.60.0/24', net).status, 0);
    assert.equal(tsnet('sandbox', 'create', sb, '--network', net).status, 0);
  });
  after(() => {
    tsnet('sandbox', 'rm', sb);
    tsnet('rm', net);
    fs.rmSync(bin, { recursive: true, force: true });
  });

  it('prints its version with --version and -v', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-v']) {
      const r = tsnet(flag);
      assert.equal(r.status, 0);
      assert.equal(r.stdout, `tsnet version ${version}\n`);
    }
  });

  it('shows examples in `tsnet help CMD` and `CMD --help`', () => {
    for (const args of [['help', 'create'], ['create', '--help'], ['help', 'sandbox', 'create'], ['network', 'help', 'create'], ['help', 'connect'], ['help', 'completion']]) {
      const r = tsnet(...args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: tsnet /);
      assert.match(r.stdout, /\nExamples:\n {2}\$ tsnet /, args.join(' '));
    }
  });

  it('completes commands, flags and names in bash', () => {
    const script = tsnet('completion', 'bash').stdout;
    // As bash calls it: the line so far and the cursor.
    const complete = (...words: string[]) => {
      const line = words.join(' ');
      const r = withTsnet(bin, 'bash', ['-c', `${script}\nCOMP_LINE='${line}'; COMP_POINT=${line.length}; _tsnet; printf '%s\\n' "\${COMPREPLY[@]}"`]);
      assert.equal(r.stderr, '');
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(complete('tsnet', 'sand'), ['sandbox']);
    assert.deepEqual(complete('tsnet', 'inspect', 'compnet-'), [net]);
    assert.deepEqual(complete('tsnet', 'connect', net, 'compsb-'), [sb]);
    assert.ok(complete('tsnet', 'create', '--sub').includes('--subnet'));
    assert.deepEqual(complete('tsnet', 'sandbox', ''), ['create', 'ls', 'inspect', 'rm', 'exec']);
    // Only the part after the colon is replaced: candidates are the names.
    assert.deepEqual(complete('tsnet', 'run', '--network', 'container:compsb'), [sb]);
  });

  it('completes names in zsh and fish', function () {
    if (!have('zsh') || !have('fish')) this.skip();
    const zsh = tsnet('completion', 'zsh').stdout;
    // Outside an interactive completion, compadd and compdef are stubs that print what they are given.
    const z = withTsnet(bin, 'zsh', ['-c', `compdef() { :; }; compadd() { shift; print -l -- "\${(@P)1}"; }\n${zsh}\nwords=(tsnet sandbox rm compsb); CURRENT=4; _tsnet`]);
    assert.equal(z.stderr, '');
    assert.deepEqual(z.stdout.split('\n').filter(Boolean), [sb]);
    const none = withTsnet(bin, 'zsh', ['-c', `compdef() { :; }; compadd() { shift; local -a c; c=("\${(@P)1}"); print -r -- "\${#c}"; }\n${zsh}\nwords=(tsnet inspect zzz-none); CURRENT=3; _tsnet`]);
    assert.equal(none.stdout, '0\n', 'no candidate, not an empty one');
    const fish = tsnet('completion', 'fish').stdout;
    const f = withTsnet(bin, 'fish', ['--no-config', '-c', `${fish}\ncomplete -C 'tsnet inspect compnet-'`]);
    assert.equal(f.stderr, '');
    assert.deepEqual(f.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]), [net]);
  });

  it('writes man pages that man renders without warnings (man tsnet, man tsnet-create)', function () {
    if (!have('man')) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-man-'));
    try {
      const gen = spawnSync(process.execPath, [path.join(ROOT, 'build', 'src', 'cli', 'help', 'man.js'), dir], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const man = (page: string) => spawnSync('man', ['--warnings', page], { encoding: 'utf8', env: { ...process.env, MANPATH: dir, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' } });
      const top = man('tsnet');
      assert.equal(top.status, 0, top.stderr);
      assert.equal(top.stderr, '');
      assert.match(top.stdout, /NAME\s+tsnet - container networking/);
      assert.match(top.stdout, /tsnet-sandbox\(1\)/);
      const create = man('tsnet-create');
      assert.equal(create.stderr, '');
      assert.match(create.stdout, /SYNOPSIS\s+tsnet create \[options\] <name>/);
      assert.match(create.stdout, /--subnet <cidr>\s+subnet \(repeatable, v4 and v6\)/);
      assert.match(create.stdout, /EXAMPLES\s+tsnet create -d bridge --subnet 172\.25\.0\.0\/16/);
      const local = spawnSync('man', ['--warnings', '-l', path.join(dir, 'man1', 'tsnet-sandbox-create.1')], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat' } });
      assert.equal(local.stderr, '');
      assert.match(local.stdout, /--network <net>/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
