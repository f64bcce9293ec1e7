/** The `dnsname` step (podman's CNI convention for DNS): recognised by type, and refused without tsnet-cni's result before it. */
import { strict as assert } from 'node:assert';
import { CniCode, type CniError } from '../../../plugins/cni/codes';
import { isDnsnameConfig, prepareDnsname } from '../../../plugins/cni/dnsname';
import type { CniRequest } from '../../../plugins/cni/skel';

const config = { cniVersion: '1.0.0', name: 'n1', type: 'dnsname', domainName: 'dns.podman', capabilities: { aliases: true } };
const req = (over: Partial<CniRequest> = {}): CniRequest => ({ command: 'ADD', containerId: 'c1', netns: '/run/netns/c1', ifname: 'eth0', args: [], path: [], cniVersion: '1.0.0', config, ...over });

describe('cni dnsname step', () => {
  it('is recognised by its type only', () => {
    assert.equal(isDnsnameConfig(config), true);
    assert.equal(isDnsnameConfig({ ...config, type: 'tsnet-cni' }), false);
  });

  it('needs the previous plugin\'s result (code 7), and passes it on', () => {
    assert.throws(() => prepareDnsname(req()), (e: CniError) => e.code === CniCode.InvalidNetworkConfig && /follows tsnet-cni/.test(e.message));
    const prev = { interfaces: [{ name: 'eth0', sandbox: '/run/netns/c1' }], ips: [], routes: [], dns: { nameservers: ['127.0.0.11'] } };
    assert.deepEqual(prepareDnsname(req({ prevResult: prev })), prev);
  });
});
