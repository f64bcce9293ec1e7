/** Docker's network verbs scripts use: `network connect|disconnect`, `inspect -f`, `rm -f`, `prune --filter`, `ls --filter dangling`. */
import { strict as assert } from 'node:assert';
import { tsnet, tsnetFails as fails, tsnetOk as ok } from '../../helpers/cli';

describe('CLI: network verbs', function () {
  this.timeout(120000);
  const run = process.pid.toString(36);
  const [netA, netB, sb] = [`nva-${run}`, `nvb-${run}`, `nvs-${run}`];
  after(() => {
    tsnet('sandbox', 'rm', sb);
    tsnet('rm', netA, netB);
  });

  it('network connect / network disconnect, as in the issue', () => {
    ok('network', 'create', '--subnet', '172.25.3.0/24', netA);
    ok('sandbox', 'create', sb, '--network', 'none');
    ok('sandbox', 'rm', sb);
    ok('sandbox', 'create', sb);
    ok('network', 'connect', '--ip', '172.25.3.3', netA, sb);
    assert.deepEqual(ok('inspect', '-f', '{{json .Containers}}', netA).includes('172.25.3.3/24'), true);
    ok('network', 'disconnect', netA, sb);
    fails(3, /not connected/, 'network', 'disconnect', netA, sb);
  });

  it('inspect -f / --format: fields, json (one compact array, as Docker), a bad template is one line, exit 2', () => {
    ok('create', '--subnet', '172.25.4.0/24', '--label', 'team=a', netB);
    assert.equal(ok('inspect', '-f', '{{.Name}} {{.Driver}} {{.EnableIPv6}}', netA, netB), `${netA} bridge false\n${netB} bridge false\n`);
    assert.equal(ok('network', 'inspect', '--format', '{{json .IPAM.Config}}', netB), '[{"Subnet":"172.25.4.0/24","Gateway":"172.25.4.1"}]\n');
    assert.equal(ok('inspect', '-f', '{{.Labels}}', netB), 'map[team:a]\n');
    // Docker's `json`: every network in one compact JSON array.
    assert.deepEqual((JSON.parse(ok('inspect', '--format', 'json', netA, netB)) as { Name: string }[]).map((n) => n.Name), [netA, netB]);
    fails(2, /template/, 'inspect', '-f', '{{range .Containers}}', netB);
    fails(2, /can't evaluate field/, 'inspect', '-f', '{{.Name.Nope}}', netB);
  });

  it('ls --filter dangling=true|false', () => {
    ok('connect', netA, sb);
    const names = (f: string) => ok('ls', '--format', 'json', '--filter', f).trim().split('\n').map((l) => JSON.parse(l).Name as string);
    const dangling = names('dangling=true');
    assert.ok(dangling.includes(netB) && !dangling.includes(netA) && !dangling.includes('none'), dangling.join());
    const used = names('dangling=false');
    assert.ok(used.includes(netA) && used.includes('bridge') && used.includes('none') && !used.includes(netB), used.join());
    assert.deepEqual(names('dangling=1').filter((n) => n === netB), [netB]);
    fails(2, /dangling=maybe/, 'ls', '--filter', 'dangling=maybe');
  });

  it('rm -f disconnects first, and ignores a missing network', () => {
    fails(4, /active endpoints/, 'rm', netA);
    assert.equal(ok('rm', '-f', netA, `gone-${run}`), `${netA}\n`);
    fails(3, /not found/, 'inspect', netA);
    const [view] = JSON.parse(ok('sandbox', 'inspect', sb));
    assert.deepEqual(Object.keys(view.NetworkSettings.Networks), ['bridge']);
    fails(3, /not found/, 'rm', `gone-${run}`);
  });

  it('prune --filter until= and label= / label!=', () => {
    const [p1, p2, p3] = ['p1', 'p2', 'p3'].map((p) => `${p}-${run}`);
    try {
      ok('create', '--label', 'keep', p1);
      ok('create', '--label', 'tier=web', p2);
      ok('create', p3);
      // Created just now: nothing is older than an hour.
      const none = ok('prune', '-f', '--filter', 'until=1h');
      assert.doesNotMatch(none, new RegExp(run));
      assert.equal(ok('prune', '--filter', 'label=tier=web'), `Deleted Networks:\n${p2}\n`);
      const rest = ok('prune', '--filter', 'label!=keep', '--filter', `until=${new Date(Date.now() + 60000).toISOString()}`);
      assert.match(rest, new RegExp(`^${p3}$`, 'm'));
      assert.doesNotMatch(rest, new RegExp(p1));
      fails(2, /until=soon/, 'prune', '--filter', 'until=soon');
      fails(2, /invalid filter "dangling=true"/, 'prune', '--filter', 'dangling=true');
    } finally {
      tsnet('rm', '-f', p1, p2, p3);
    }
  });
});
