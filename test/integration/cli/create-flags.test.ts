/** `tsnet create` flags scripts use: --ipam-driver/--ipam-opt, --attachable, --scope, --config-only/--config-from. */
import { strict as assert } from 'node:assert';
import { tsnet, tsnetFails as fails, tsnetOk as ok } from '../../helpers/cli';

const inspect = (net: string) => JSON.parse(ok('inspect', net))[0];

describe('CLI: create flags', function () {
  this.timeout(120000);
  const run = process.pid.toString(36);
  const [ipamNet, cfg, fromCfg, sb] = [`ci-${run}`, `cfg-${run}`, `cf-${run}`, `cs-${run}`];
  after(() => {
    tsnet('sandbox', 'rm', sb);
    tsnet('rm', ipamNet, fromCfg, cfg);
  });

  it('--ipam-driver default, --ipam-opt, --attachable and --scope local', () => {
    ok('create', '--ipam-driver', 'default', '--ipam-opt', 'foo=bar', '--attachable', '--scope', 'local', '--subnet', '172.25.5.0/24', ipamNet);
    const v = inspect(ipamNet);
    assert.deepEqual(v.IPAM, { Driver: 'default', Options: { foo: 'bar' }, Config: [{ Subnet: '172.25.5.0/24', Gateway: '172.25.5.1' }] });
    assert.equal(v.Attachable, true);
    assert.equal(v.Scope, 'local');
    assert.equal(inspect('bridge').Attachable, false);
  });

  it('refuses another IPAM driver, a scope the driver does not have, and a malformed --ipam-opt, leaving nothing', () => {
    fails(6, /--ipam-driver dhcp: only the "default" IPAM driver/, 'create', '--ipam-driver', 'dhcp', `bad1-${run}`);
    fails(6, /--scope global: driver bridge makes local-scoped networks/, 'create', '--scope', 'global', `bad2-${run}`);
    fails(6, /--scope swarm/, 'create', '--scope', 'swarm', `bad2-${run}`);
    fails(2, /--scope galaxy: expected local, global or swarm/, 'create', '--scope', 'galaxy', `bad2-${run}`);
    fails(2, /invalid --ipam-opt "foo"/, 'create', '--ipam-opt', 'foo', `bad3-${run}`);
    assert.doesNotMatch(ok('ls'), /bad\d-/);
  });

  it('--config-only holds config with no devices; --config-from takes it; neither can be misused', () => {
    ok('create', '--config-only', '--subnet', '172.25.6.0/24', '--gateway', '172.25.6.254', '--ip-range', '172.25.6.128/25', '-o', 'com.docker.network.driver.mtu=1400', '--label', 'role=cfg', cfg);
    const c = inspect(cfg);
    assert.equal(c.ConfigOnly, true);
    assert.equal(c.Driver, 'null');
    assert.deepEqual(c.IPAM.Config, [{ Subnet: '172.25.6.0/24', IPRange: '172.25.6.128/25', Gateway: '172.25.6.254' }]);
    assert.match(ok('ls', '--filter', `name=${cfg}`), new RegExp(`${cfg}\\s+null\\s+local`));
    fails(4, /configuration-only network/, 'sandbox', 'create', sb, '--network', cfg);
    fails(2, /user specified configurations are not supported/, 'create', '--config-from', cfg, '--subnet', '172.25.7.0/24', fromCfg);
    fails(2, /a configuration network cannot depend on another/, 'create', '--config-only', '--config-from', cfg, fromCfg);
    fails(2, /--config-from bridge: not a configuration-only network/, 'create', '--config-from', 'bridge', fromCfg);
    ok('create', '--config-from', cfg, fromCfg);
    const f = inspect(fromCfg);
    assert.deepEqual(f.ConfigFrom, { Network: cfg });
    assert.equal(f.ConfigOnly, false);
    assert.deepEqual(f.IPAM.Config, [{ Subnet: '172.25.6.0/24', IPRange: '172.25.6.128/25', Gateway: '172.25.6.254' }]);
    assert.equal(f.Options['com.docker.network.driver.mtu'], '1400');
    ok('sandbox', 'create', sb, '--network', fromCfg);
    const out = ok('sandbox', 'exec', sb, '--', 'sh', '-c', 'ip -o -4 addr show eth0; ip -o link show eth0; ip route show default');
    assert.match(out, /inet 172\.25\.6\.128\/24/);
    assert.match(out, /mtu 1400/);
    assert.match(out, /default via 172\.25\.6\.254/);
    fails(4, /configuration network "cfg-[^"]+" is in use by network cf-/, 'rm', cfg);
    // prune keeps a configuration network while a network still uses it.
    ok('sandbox', 'rm', sb);
    const pruned = ok('prune', '--filter', 'label=role=cfg');
    assert.equal(pruned, '');
    assert.equal(ok('rm', fromCfg, cfg), `${fromCfg}\n${cfg}\n`);
  });
});
