/** runtimeConfig.portMappings published by tsnet's firewall, ipMasq towards an outside network, hairpinMode. */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { createOutside, type Outside } from '../../helpers/outside';
import { startEchoServer, tcpExchange } from '../../helpers/traffic';
import { cni, RUN, Scratch } from './harness';

const NET = `cni-pt-${RUN}`;
const BRIDGE = `cpt${RUN}`.slice(0, 15);
const conf = (over: object = {}) => ({
  cniVersion: '1.1.0', name: NET, type: 'tsnet-cni', bridge: BRIDGE, ipMasq: true, hairpinMode: true,
  ipam: { subnet: '10.129.0.0/24', routes: [{ dst: '0.0.0.0/0' }] }, capabilities: { portMappings: true }, ...over,
});

/** A TCP server in nsPath that answers each connection with the peer's address. */
function whoami(nsPath: string, port: number): Promise<() => void> {
  const src = `require('net').createServer(c=>c.end(c.remoteAddress)).listen(${port},'0.0.0.0',()=>process.stdout.write('ready\\n'))`;
  const p = spawn('nsenter', [`--net=${nsPath}`, '--', process.execPath, '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    p.stdout!.once('data', () => resolve(() => p.kill()));
    p.once('exit', (code) => reject(new Error(`whoami exited ${code}`)));
  });
}

describe('tsnet-cni ports, NAT and hairpin (tsnet firewall)', function () {
  this.timeout(60000);
  const s = new Scratch();
  let outside: Outside | undefined;
  beforeEach(() => s.network(NET));
  afterEach(async () => {
    await outside?.remove();
    outside = undefined;
    await s.cleanup();
  });

  it('publishes a port mapping: the host reaches the container on its host port; DEL unpublishes it', async () => {
    const ns = s.netns(`cp1-${RUN}`);
    const att = { containerId: `p-${RUN}`, netns: ns };
    const r = await cni('ADD', conf({ runtimeConfig: { portMappings: [{ hostPort: 18090, containerPort: 80, protocol: 'tcp' }] } }), att);
    assert.equal(r.code, 0, r.stdout);
    const server = await startEchoServer(ns, 80);
    try {
      assert.equal(await tcpExchange('', '10.129.0.1', 18090, 'via-host-port'), 'echo:via-host-port');
      assert.equal(await tcpExchange('', '127.0.0.1', 18090, 'via-localhost'), 'echo:via-localhost');
      // hairpin: the container reaches itself through the host's port.
      assert.equal(await tcpExchange(ns, '10.129.0.1', 18090, 'hairpin'), 'echo:hairpin');
      assert.equal((await cni('DEL', conf(), att)).code, 0);
      assert.match(await tcpExchange('', '10.129.0.1', 18090, 'gone', 1000), /^error:|timeout/);
    } finally {
      server.stop();
    }
  });

  it('refuses a host port another container holds (nothing left behind)', async () => {
    const pm = { runtimeConfig: { portMappings: [{ hostPort: 18091, containerPort: 80 }] } };
    assert.equal((await cni('ADD', conf(pm), { containerId: `q1-${RUN}`, netns: s.netns(`cp2-${RUN}`) })).code, 0);
    const r = await cni('ADD', conf(pm), { containerId: `q2-${RUN}`, netns: s.netns(`cp3-${RUN}`) });
    assert.equal(r.code, 1);
    assert.match((r.json as any).msg, /18091.*already allocated/);
    assert.doesNotMatch(execFileSync('ip', ['-n', `cp3-${RUN}`, '-br', 'link'], { encoding: 'utf8' }), /eth0/);
  });

  it('masquerades traffic leaving the host when ipMasq is set, and not when it is not', async () => {
    outside = await createOutside(`c${RUN}`.slice(0, 6));
    const stop = await whoami(outside.key, 9100);
    try {
      const ns = s.netns(`cp4-${RUN}`);
      assert.equal((await cni('ADD', conf(), { containerId: `m-${RUN}`, netns: ns })).code, 0);
      assert.equal(await tcpExchange(ns, outside.outsideIp, 9100, ''), outside.hostIp);
      const plain = s.network(`cni-pt2-${RUN}`);
      const ns2 = s.netns(`cp5-${RUN}`);
      const r = await cni('ADD', { cniVersion: '1.0.0', name: plain, type: 'tsnet-cni', ipam: { subnet: '10.130.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }, { containerId: `n-${RUN}`, netns: ns2 });
      assert.equal(r.code, 0, r.stdout);
      // Without masquerade the outside sees the container's own address (and has no route back to it).
      execFileSync('ip', ['-n', outside.key.split('/').pop()!, 'route', 'add', '10.130.0.0/24', 'via', outside.hostIp]);
      assert.equal(await tcpExchange(ns2, outside.outsideIp, 9100, ''), '10.130.0.2');
    } finally {
      stop();
    }
  });

  it('sets hairpin mode on the host port when hairpinMode is set', async () => {
    const r = await cni('ADD', conf(), { containerId: `h-${RUN}`, netns: s.netns(`cp6-${RUN}`) });
    const veth = (r.json as any).interfaces[1].name;
    assert.match(execFileSync('ip', ['-d', 'link', 'show', veth], { encoding: 'utf8' }), /hairpin on/);
    const r2 = await cni('ADD', conf({ name: `cni-pt3-${RUN}`, bridge: undefined, hairpinMode: false, ipMasq: false, ipam: { subnet: '10.131.0.0/24' } }), { containerId: `h2-${RUN}`, netns: s.netns(`cp7-${RUN}`) });
    s.network(`cni-pt3-${RUN}`);
    assert.match(execFileSync('ip', ['-d', 'link', 'show', (r2.json as any).interfaces[1].name], { encoding: 'utf8' }), /hairpin off/);
  });
});
