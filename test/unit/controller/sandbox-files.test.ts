import { strict as assert } from 'node:assert';
import { renderHosts, renderResolvConf } from '../../../src/controller/sandbox-files';
import type { Endpoint, Sandbox } from '../../../src/model';

const sb = (extra: Partial<Sandbox> = {}): Sandbox => ({
  id: 'f'.repeat(64), name: 'web', hostname: 'web', mode: 'own', key: '/run/netns/x', dns: { servers: [], search: [], options: [] }, extraHosts: [], exposed: [], created: '', ...extra,
});
const ep = (ipv4?: string, ipv6?: string) => ({ ipv4, ipv6 }) as Endpoint;

describe('sandbox files', () => {
  it('hosts: loopback lines, --add-host, own addresses with hostname and name', () => {
    const text = renderHosts(sb({ hostname: 'box', extraHosts: ['db:10.0.0.9', 'v6:[fd00::9]'] }), [ep('172.25.0.2/16', 'fd00::2/64')]);
    const lines = text.trim().split('\n');
    assert.equal(lines[0], '127.0.0.1\tlocalhost');
    assert.deepEqual(lines.slice(6), ['10.0.0.9\tdb', 'fd00::9\tv6', '172.25.0.2\tbox web', 'fd00::2\tbox web']);
  });
  it('resolv.conf on user-defined networks points at the embedded resolver with ndots:0', () => {
    assert.equal(renderResolvConf(sb({ dns: { servers: [], search: ['corp.example'], options: ['timeout:2'] } }), true, 'nameserver 10.0.2.3\n'), 'nameserver 127.0.0.11\nsearch corp.example\noptions ndots:0 timeout:2\n');
  });
  it('resolv.conf on the default bridge copies the host, without loopback servers', () => {
    assert.equal(renderResolvConf(sb(), false, 'nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch lan\n'), 'nameserver 192.0.2.1\nsearch lan\n');
    assert.equal(renderResolvConf(sb(), false, 'nameserver 127.0.0.53\n'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    assert.equal(renderResolvConf(sb({ dns: { servers: ['192.0.2.9'], search: [], options: [] } }), false, 'nameserver 192.0.2.1\n'), 'nameserver 192.0.2.9\n');
    assert.equal(renderResolvConf(sb(), false, 'nameserver 192.0.2.1\n', { dns: ['192.0.2.7'], 'dns-search': ['d.example'], 'dns-opts': ['rotate'] }), 'nameserver 192.0.2.7\nsearch d.example\noptions rotate\n');
  });
});
