/**
 * --format through the CLI: tsnet's ls/inspect/sandbox ls/sandbox inspect with Go templates, bad
 * templates as one-line errors with exit 2, and — when Debian's dockerd can run in the private host —
 * the same templates on the same networks printed by the real `docker network ls/inspect --format`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { tsnet } from '../../helpers/cli';
import { GOLDEN_NETWORKS, LIVE_CASES } from '../../helpers/format-cases';
import { Engine, ensurePackages, IMAGE } from '../docker/engine';

const run = process.pid.toString(36);
/** A golden network's name for this run (ls filters on the suffix). */
const named = (n: string) => `${n}-${run}`;
/** The create flags of a golden network, its bridge named per tool so docker's and tsnet's bridges do not collide. */
const argsFor = (args: string[], tool: 'd' | 't') => args.map((a) => a.replace(/^(com\.docker\.network\.bridge\.name=).*$/, `$1fmt${tool}${run}`));

describe('cli --format (Go templates)', function () {
  this.timeout(120_000);
  const net = named('fmt-cli');
  const [web, none, shared] = ['fweb', 'fnone', 'fshared'].map(named);

  before(() => {
    for (const [args, name] of [[['--subnet', '172.23.7.0/24', '--label', 'team=net'], net]] as const) {
      const r = tsnet('create', ...args, name);
      assert.equal(r.status, 0, r.stderr);
    }
    for (const [name, flags] of [[web, ['--network', net, '-p', '8080:80', '--expose', '90']], [none, ['--network', 'none']], [shared, ['--network', `container:${web}`]]] as const) {
      const r = tsnet('sandbox', 'create', name, ...flags);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(() => {
    tsnet('sandbox', 'rm', shared);
    tsnet('sandbox', 'rm', web, none);
    tsnet('rm', net);
  });

  it('ls: fields, table headers, json and Label', () => {
    const r = tsnet('ls', '--filter', `name=${net}`, '--format', 'table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}\\t{{.IPv6}}\\t{{.Internal}}\\t{{.Labels}}');
    assert.equal(r.status, 0, r.stderr);
    const [header, row, end] = r.stdout.split('\n');
    assert.equal(header, 'NETWORK ID     NAME' + ' '.repeat(Math.max(10, net.length + 3) - 4) + 'DRIVER    SCOPE     IPV6      INTERNAL   LABELS');
    assert.match(row, new RegExp(`^[0-9a-f]{12}   ${net} +bridge    local     false     false      team=net$`));
    assert.equal(end, '');
    const json = JSON.parse(tsnet('ls', '--filter', `name=${net}`, '--format', '{{json .}}').stdout);
    assert.deepEqual(Object.keys(json), ['CreatedAt', 'Driver', 'ID', 'IPv6', 'Internal', 'Labels', 'Name', 'Scope']);
    assert.match(json.CreatedAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
    assert.equal(tsnet('ls', '--filter', `name=${net}`, '--format', '{{.Name}}={{.Label "team"}}').stdout, `${net}=net\n`);
  });

  it('inspect -f: IPAM config, json, range, index, len, if', () => {
    const f = '{{.IPAM.Config}}|{{json .Labels}}|{{range $k, $v := .Containers}}{{$v.Name}}{{end}}|{{len .Containers}}|{{if .Internal}}internal{{else}}external{{end}}';
    const r = tsnet('inspect', net, '-f', f);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `[{172.23.7.0/24  172.23.7.1 map[]}]|{"team":"net"}|${web}|1|external\n`);
    const id = tsnet('sandbox', 'inspect', web, '--format', '{{.Id}}').stdout.trim();
    assert.equal(tsnet('inspect', net, '--format', `{{(index .Containers "${id}").Name}}`).stdout, `${web}\n`);
  });

  it('sandbox inspect --format shows NetworkMode as asked (network name, none, container:<id>)', () => {
    const r = tsnet('sandbox', 'inspect', web, none, shared, '--format', '{{.Name}} {{.HostConfig.NetworkMode}}');
    assert.equal(r.status, 0, r.stderr);
    const id = tsnet('sandbox', 'inspect', web, '--format', '{{.Id}}').stdout.trim();
    assert.equal(r.stdout, `${web} ${net}\n${none} none\n${shared} container:${id}\n`);
    const ports = tsnet('sandbox', 'inspect', web, '-f', '{{.NetworkSettings.Ports}} {{json .Config.ExposedPorts}} {{range $n, $e := .NetworkSettings.Networks}}{{$n}}:{{$e.IPAddress}}{{end}}');
    assert.match(ports.stdout, new RegExp(`^map\\[80/tcp:\\[\\{0\\.0\\.0\\.0 8080\\}\\]\\] \\{"90/tcp":\\{\\}\\} ${net}:172\\.23\\.7\\.\\d+\\n$`));
  });

  it('sandbox ls --format with docker ps names', () => {
    const r = tsnet('sandbox', 'ls', '--format', '{{.Names}}|{{.Networks}}|{{.Ports}}|{{.RunningFor}}');
    assert.equal(r.status, 0, r.stderr);
    const mine = r.stdout.split('\n').filter((l) => l.includes(run)).sort();
    assert.equal(mine.length, 3);
    assert.match(mine.find((l) => l.startsWith(web))!, new RegExp(`^${web}\\|${net}\\|90/tcp, 0\\.0\\.0\\.0:8080->80/tcp\\|(Less than a second|\\d+ seconds) ago$`));
    assert.match(mine.find((l) => l.startsWith(none))!, new RegExp(`^${none}\\|none\\|\\|`));
    const table = tsnet('sandbox', 'ls', '--format', 'table {{.ID}}\\t{{.Names}}');
    assert.match(table.stdout.split('\n')[0], /^CONTAINER ID   NAMES$/);
  });

  it('refuses a bad template with one line and exit 2, before reading anything', () => {
    const cases: [string[], RegExp][] = [
      [['ls', '--format', '{{.Name'], /^tsnet: template parsing error: template: :1: unclosed action\n$/],
      [['ls', '--format', '{{nofunc .Name}}'], /^tsnet: template parsing error: template: :1: function "nofunc" not defined\n$/],
      [['ls', '--format', '{{.Nope}}'], /^tsnet: template parsing error: template: :1:2: executing "" at <\.Nope>: can't evaluate field Nope in type \*network\.networkContext\n$/],
      [['inspect', net, '-f', '{{if .Name}}open'], /^tsnet: template parsing error: template: :1: unexpected EOF\n$/],
      [['inspect', net, '-f', '{{.Nope}}'], /^tsnet: template parsing error: template: :1:2: executing "" at <\.Nope>: map has no entry for key "Nope"\n$/],
      [['sandbox', 'ls', '--format', '{{end}}'], /^tsnet: template parsing error: template: :1: unexpected \{\{end\}\}\n$/],
      [['sandbox', 'inspect', web, '-f', '{{join .Name}}'], /^tsnet: template parsing error: template: :1:2: executing "" at <join>: wrong number of args for join: want 2 got 1\n$/],
      // Parsed before the network is looked up: the template's error, not the unknown network's.
      [['inspect', `nonexistent-${run}`, '-f', '{{.Name'], /unclosed action/],
    ];
    for (const [args, re] of cases) {
      const r = tsnet(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
    }
  });
});

describe('cli --format against the real docker CLI, live on the same networks', function () {
  this.timeout(300_000);
  let engine: Engine | undefined;
  const names = GOLDEN_NETWORKS.map((n) => named(n.name));

  before(async function () {
    const missing = process.getuid?.() !== 0 ? 'needs root inside the private host' : ensurePackages();
    if (missing || !fs.existsSync('/usr/bin/docker')) {
      console.warn(`\n!! SKIPPED: live comparison with docker: ${missing ?? '/usr/bin/docker missing'}\n`);
      this.skip();
    }
    // tsnet first: it refuses subnets overlapping a route, and docker's bridges would add those routes.
    for (const n of GOLDEN_NETWORKS) {
      const r = tsnet('create', ...argsFor(n.args, 't'), named(n.name));
      assert.equal(r.status, 0, r.stderr);
    }
    engine = Engine.prepare();
    await engine.start();
    for (const n of GOLDEN_NETWORKS) await engine.docker('network', 'create', ...argsFor(n.args, 'd'), named(n.name));
  });
  after(async () => {
    tsnet('rm', ...names);
    // dockerd leaves its bridges (and their routes) when it stops: removed first, one by one (some may not exist).
    for (const n of names) await engine?.docker('network', 'rm', n).catch(() => undefined);
    await engine?.remove();
  });

  for (const c of LIVE_CASES.ls) {
    it(`ls --format ${JSON.stringify(c.format)}${c.filter ? ` --filter ${c.filter}` : ''}`, async () => {
      const filter = c.filter ? `${c.filter}-${run}` : `name=-${run}`;
      const docker = await engine!.dockerRaw('network', 'ls', '--filter', filter, '--format', c.format);
      const ours = tsnet('ls', '--filter', filter, '--format', c.format);
      assert.equal(ours.status, 0, ours.stderr);
      assert.ok(docker.includes(run), `docker printed: ${docker}`);
      assert.equal(ours.stdout, docker);
    });
  }

  it('sandbox inspect shows NetworkMode as docker inspect does (network name, none, container:<id>)', async () => {
    await engine!.importImage();
    const modes = [named('fmt-alpha'), 'none'];
    const [dweb, dnone, dshared] = ['dweb', 'dnone', 'dshared'].map(named);
    const [tweb, tnone, tshared] = ['tweb', 'tnone', 'tshared'].map(named);
    try {
      await engine!.docker('run', '-d', '--name', dweb, '--network', modes[0], IMAGE, 'sleep', '600');
      await engine!.docker('run', '-d', '--name', dnone, '--network', modes[1], IMAGE, 'sleep', '600');
      await engine!.docker('run', '-d', '--name', dshared, '--network', `container:${dweb}`, IMAGE, 'sleep', '600');
      for (const [name, mode] of [[tweb, modes[0]], [tnone, modes[1]], [tshared, `container:${tweb}`]]) assert.equal(tsnet('sandbox', 'create', name, '--network', mode).status, 0);
      const f = '{{.HostConfig.NetworkMode}}|{{range $n, $e := .NetworkSettings.Networks}}{{$n}}{{end}}';
      const docker = (await engine!.dockerRaw('inspect', '--format', f, dweb, dnone, dshared)).replace(await engine!.docker('inspect', '--format', '{{.Id}}', dweb), 'ID');
      const ours = tsnet('sandbox', 'inspect', '--format', f, tweb, tnone, tshared);
      assert.equal(ours.status, 0, ours.stderr);
      assert.equal(ours.stdout.replace(tsnet('sandbox', 'inspect', '--format', '{{.Id}}', tweb).stdout.trim(), 'ID'), docker);
      assert.equal(docker, `${modes[0]}|${modes[0]}\nnone|none\ncontainer:ID|\n`);
    } finally {
      tsnet('sandbox', 'rm', tshared);
      tsnet('sandbox', 'rm', tweb, tnone);
      await engine!.docker('rm', '-f', dshared, dnone, dweb).catch(() => undefined);
    }
  });

  for (const c of LIVE_CASES.inspect) {
    it(`inspect --format ${JSON.stringify(c.format)} ${c.networks.join(' ')}`, async () => {
      const refs = c.networks.map(named);
      const docker = await engine!.dockerRaw('network', 'inspect', '--format', c.format, ...refs);
      const ours = tsnet('inspect', '--format', c.format, ...refs);
      assert.equal(ours.status, 0, ours.stderr);
      assert.equal(ours.stdout, docker);
    });
  }
});
