/**
 * Names and DNS as runtimes send them: no tsnet key needed for the embedded resolver (on by default,
 * the result names 127.0.0.11), K8S_POD_NAME / NAME.NAMESPACE as the container's name, the pod's
 * uid kept, the spec's dns block as the resolver's upstreams, and `embeddedDNS: false` to switch it off.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { containerRecords } from '../../../plugins/cni/attachments';
import { Controller } from '../../../src/index';
import { tsnet } from '../../helpers/cli';
import { startDnsmasq } from '../../helpers/dnsmasq';
import { createOutside, type Outside } from '../../helpers/outside';
import { cni, lookup, RUN, Scratch } from './harness';

const NET = `cni-nm-${RUN}`;
/** What podman's CNI backend writes for a bridge, with tsnet-cni in the bridge plugin's place: no tsnet key. */
const conf = (over: object = {}) => ({
  cniVersion: '1.0.0', name: NET, type: 'tsnet-cni', bridge: `tnm${RUN}`.slice(0, 15), isGateway: true, ipMasq: true,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.138.0.0/24', gateway: '10.138.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
  capabilities: { aliases: true }, ...over,
});

describe('tsnet-cni: names and DNS from the runtime', function () {
  this.timeout(60000);
  const s = new Scratch();
  beforeEach(() => s.network(NET));
  afterEach(() => s.cleanup());

  it('serves names by default, naming containers after K8S_POD_NAME (podman) and keeping runtimeConfig aliases', async () => {
    const a = s.netns(`cnm1-${RUN}`), b = s.netns(`cnm2-${RUN}`);
    const ra = await cni('ADD', conf(), { containerId: `a${RUN}`.padEnd(64, '0'), netns: a, args: `IgnoreUnknown=1;K8S_POD_NAME=web-${RUN}` });
    assert.equal(ra.code, 0, ra.stdout);
    assert.deepEqual((ra.json as any).dns, { nameservers: ['127.0.0.11'] });
    const rb = await cni('ADD', conf({ runtimeConfig: { aliases: { [NET]: ['db', `b${RUN}`.padEnd(12, '0')] } } }), { containerId: `b${RUN}`.padEnd(64, '0'), netns: b, args: `IgnoreUnknown=1;K8S_POD_NAME=db-${RUN}` });
    assert.equal(rb.code, 0, rb.stdout);
    assert.deepEqual(lookup(`cnm1-${RUN}`, `db-${RUN}`), ['10.138.0.3']);
    assert.deepEqual(lookup(`cnm1-${RUN}`, 'db'), ['10.138.0.3']);
    assert.deepEqual(lookup(`cnm1-${RUN}`, `b${RUN}`.padEnd(12, '0')), ['10.138.0.3']);
    assert.deepEqual(lookup(`cnm2-${RUN}`, `web-${RUN}`), ['10.138.0.2']);
    assert.match(tsnet('sandbox', 'ls').stdout, new RegExp(`\\bweb-${RUN}\\b.*10\\.138\\.0\\.2`));
    assert.equal((await cni('DEL', conf(), { containerId: `b${RUN}`.padEnd(64, '0'), netns: b, args: `IgnoreUnknown=1;K8S_POD_NAME=db-${RUN}` })).code, 0);
    assert.deepEqual(lookup(`cnm1-${RUN}`, `db-${RUN}`), []);
  });

  it('names a Kubernetes pod NAME.NAMESPACE and keeps its uid; a name already taken falls back to the id and stays an alias', async () => {
    const a = s.netns(`cnm3-${RUN}`), b = s.netns(`cnm4-${RUN}`);
    const k8s = (ns: string, uid: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=infra${RUN};K8S_POD_UID=${uid}`;
    const ra = await cni('ADD', conf(), { containerId: `k1${RUN}`, netns: a, args: k8s(`prod${RUN}`, 'uid-1') });
    assert.equal(ra.code, 0, ra.stdout);
    // The same pod name in another namespace is another container.
    const rb = await cni('ADD', conf(), { containerId: `k2${RUN}`, netns: b, args: k8s(`dev${RUN}`, 'uid-2') });
    assert.equal(rb.code, 0, rb.stdout);
    assert.deepEqual(lookup(`cnm3-${RUN}`, `web-0.dev${RUN}`), ['10.138.0.3']);
    assert.deepEqual(lookup(`cnm4-${RUN}`, `web-0.prod${RUN}`), ['10.138.0.2']);
    const c = await Controller.open({ readOnly: true });
    try {
      const rec = await containerRecords(c).get(`k1${RUN}`);
      assert.deepEqual(rec?.pod, { name: 'web-0', namespace: `prod${RUN}`, uid: 'uid-1', infraContainerId: `infra${RUN}` });
      assert.equal(rec?.sandboxName, `web-0.prod${RUN}`);
    } finally {
      await c.close();
    }
    // A third container claiming a name a sandbox holds: named after its id, still answering to the name.
    const cns = s.netns(`cnm5-${RUN}`);
    const rc = await cni('ADD', conf(), { containerId: `k3${RUN}`, netns: cns, args: k8s(`dev${RUN}`, 'uid-3') });
    assert.equal(rc.code, 0, rc.stdout);
    assert.match(tsnet('sandbox', 'ls').stdout, new RegExp(`\\bcni-k3${RUN}\\b.*10\\.138\\.0\\.4`));
    assert.deepEqual(lookup(`cnm3-${RUN}`, `web-0.dev${RUN}`), ['10.138.0.3', '10.138.0.4']);
  });

  it('brings a runtime namespace\'s loopback up, so the resolver can listen there (ctr leaves it down)', async () => {
    const a = s.netns(`cnm9-${RUN}`);
    execFileSync('ip', ['-n', `cnm9-${RUN}`, 'link', 'set', 'lo', 'down']);
    const r = await cni('ADD', conf(), { containerId: `l${RUN}`, netns: a, args: `K8S_POD_NAME=lo-${RUN}` });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(lookup(`cnm9-${RUN}`, `lo-${RUN}`), ['10.138.0.2']);
  });

  describe('with an upstream outside', () => {
    let outside: Outside | undefined;
    let dnsmasq: ChildProcess | undefined;
    let tmp = '';
    before(async () => {
      outside = await createOutside(`nm${RUN}`.slice(0, 10));
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-nm-'));
      dnsmasq = await startDnsmasq({ ns: `out-nm${RUN}`.slice(0, 14), ip: outside.outsideIp, domain: 'upstream.test', answer: '203.0.113.9', probe: 'upstream.test', tmp });
    });
    after(async () => {
      dnsmasq?.kill('SIGTERM');
      await outside?.remove();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('forwards to the spec dns block\'s nameservers and returns its search and options beside 127.0.0.11', async () => {
      const a = s.netns(`cnm6-${RUN}`);
      const block = { nameservers: [outside!.outsideIp], search: ['corp.test'], options: ['ndots:1'] };
      const r = await cni('ADD', conf({ dns: block }), { containerId: `u${RUN}`, netns: a });
      assert.equal(r.code, 0, r.stdout);
      assert.deepEqual((r.json as any).dns, { nameservers: ['127.0.0.11'], search: ['corp.test'], options: ['ndots:1'] });
      assert.deepEqual(lookup(`cnm6-${RUN}`, 'upstream.test'), ['203.0.113.9']);
    });
  });

  it('embeddedDNS false: the spec block is the result as it is; the old boolean still reads', async () => {
    const a = s.netns(`cnm7-${RUN}`);
    const r = await cni('ADD', conf({ embeddedDNS: false, dns: { nameservers: ['10.138.0.1'] } }), { containerId: `o${RUN}`, netns: a, args: `K8S_POD_NAME=off-${RUN}` });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual((r.json as any).dns, { nameservers: ['10.138.0.1'] });
    // The old boolean still reads: a second container with "dns": true makes the network's resolver run.
    const b = s.netns(`cnm8-${RUN}`);
    const rb = await cni('ADD', conf({ dns: true }), { containerId: `p${RUN}`, netns: b });
    assert.deepEqual((rb.json as any).dns, { nameservers: ['127.0.0.11'] });
    assert.deepEqual(lookup(`cnm8-${RUN}`, `off-${RUN}`), ['10.138.0.2']);
  });
});
