/** runCni in-process with recording handlers: environment, decoding, versions, dispatch, result and error output. */
import { strict as assert } from 'node:assert';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import type { CniResult } from '../../../plugins/cni/result';
import { type CniHandlers, type CniRequest, parseCniArgs, runCni } from '../../../plugins/cni/skel';

const RESULT: CniResult = {
  interfaces: [{ name: 'br0', mac: '02:00:00:00:00:01', mtu: 1500 }, { name: 'eth0', mac: '02:42:0a:00:00:02', mtu: 1500, sandbox: '/run/netns/c1' }],
  ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 1 }, { address: 'fd00::2/64', gateway: 'fd00::1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', priority: 5 }],
  dns: { nameservers: ['10.0.0.1'] },
};

/** Handlers that record what they were asked and answer from a script. */
function recorder(fail?: Error): { handlers: CniHandlers; calls: CniRequest[] } {
  const calls: CniRequest[] = [];
  const act = async (req: CniRequest) => {
    calls.push(req);
    if (fail) throw fail;
  };
  return {
    calls,
    handlers: {
      add: async (req) => (await act(req), RESULT),
      del: act, check: act, status: act, gc: act,
    },
  };
}

const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const conf = (over: object = {}) => JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'tsnet-cni', ...over });

async function invoke(env: Record<string, string | undefined>, stdin: string, handlers = recorder().handlers) {
  let out = '', err = '';
  const code = await runCni(handlers, { env, stdin, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, json: out ? JSON.parse(out) : undefined, err };
}

describe('cni skel (runCni)', () => {
  it('VERSION reports every supported version without reading the config', async () => {
    const r = await invoke({ CNI_COMMAND: 'VERSION' }, 'not json at all');
    assert.equal(r.code, 0);
    assert.deepEqual(r.json, { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  const envCases: [string, Record<string, string | undefined>, RegExp][] = [
    ['no CNI_COMMAND', { ...ENV, CNI_COMMAND: undefined }, /CNI_COMMAND is missing/],
    ['unknown command', { ...ENV, CNI_COMMAND: 'FROB' }, /unknown CNI_COMMAND "FROB"/],
    ['ADD without CNI_NETNS', { ...ENV, CNI_NETNS: undefined }, /\[CNI_NETNS\] missing/],
    ['ADD without id and ifname', { ...ENV, CNI_CONTAINERID: '', CNI_IFNAME: undefined }, /\[CNI_CONTAINERID CNI_IFNAME\] missing/],
    ['GC without CNI_PATH', { CNI_COMMAND: 'GC' }, /\[CNI_PATH\] missing/],
    ['container id with a slash', { ...ENV, CNI_CONTAINERID: 'a/b' }, /invalid CNI_CONTAINERID/],
    ['container id starting with a dot', { ...ENV, CNI_CONTAINERID: '.a' }, /invalid CNI_CONTAINERID/],
    ['ifname with a colon', { ...ENV, CNI_IFNAME: 'eth:0' }, /invalid CNI_IFNAME/],
    ['ifname of 16 characters', { ...ENV, CNI_IFNAME: 'a'.repeat(16) }, /invalid CNI_IFNAME/],
    ['CNI_ARGS pair without =', { ...ENV, CNI_ARGS: 'A=1;B' }, /invalid CNI_ARGS pair "B"/],
  ];
  for (const [what, env, re] of envCases) {
    it(`code 4 for ${what}`, async () => {
      const rec = recorder();
      const r = await invoke(env, conf(), rec.handlers);
      assert.equal(r.code, 1);
      assert.equal(r.json.code, CniCode.InvalidEnvironment);
      assert.match(r.json.msg, re);
      assert.equal(rec.calls.length, 0);
    });
  }

  it('DEL needs no CNI_NETNS (the namespace may be gone)', async () => {
    const rec = recorder();
    const r = await invoke({ ...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }, conf(), rec.handlers);
    assert.equal(r.code, 0);
    assert.equal(r.out, '');
    assert.equal(rec.calls[0].netns, '');
  });

  const decodeCases: [string, string, number][] = [
    ['garbage', '{"cniVersion": ', CniCode.DecodingFailure],
    ['empty stdin', '', CniCode.DecodingFailure],
    ['a JSON list', '[1]', CniCode.InvalidNetworkConfig],
    ['no cniVersion', JSON.stringify({ name: 'n', type: 't' }), CniCode.InvalidNetworkConfig],
    ['version 0.2.0', conf({ cniVersion: '0.2.0' }), CniCode.IncompatibleVersion],
    ['version 2.0.0', conf({ cniVersion: '2.0.0' }), CniCode.IncompatibleVersion],
    ['a prevResult that is not one', conf({ prevResult: { ips: 'x' } }), CniCode.InvalidNetworkConfig],
  ];
  for (const [what, stdin, code] of decodeCases) {
    it(`code ${code} for ${what}`, async () => {
      const r = await invoke(ENV, stdin);
      assert.equal(r.code, 1);
      assert.equal(r.json.code, code);
    });
  }

  const versionGates: [string, string][] = [['CHECK', '0.3.1'], ['STATUS', '1.0.0'], ['GC', '1.0.0']];
  for (const [command, version] of versionGates) {
    it(`refuses ${command} for a ${version} config (code 1), in that version`, async () => {
      const r = await invoke({ ...ENV, CNI_COMMAND: command }, conf({ cniVersion: version }));
      assert.equal(r.json.code, CniCode.IncompatibleVersion);
      assert.equal(r.json.cniVersion, version);
    });
  }

  const shapes: [string, (r: Record<string, any>) => void][] = [
    ['1.1.0', (r) => { assert.equal(r.interfaces[0].mtu, 1500); assert.equal(r.routes[0].priority, 5); assert.equal(r.ips[0].version, undefined); }],
    ['1.0.0', (r) => { assert.equal(r.interfaces[0].mtu, undefined); assert.equal(r.routes[0].priority, undefined); assert.equal(r.ips[0].version, undefined); }],
    ['0.4.0', (r) => { assert.deepEqual(r.ips.map((i: { version: string }) => i.version), ['4', '6']); assert.equal(r.interfaces[0].mtu, undefined); }],
    ['0.3.0', (r) => assert.deepEqual(r.ips.map((i: { version: string }) => i.version), ['4', '6'])],
  ];
  for (const [version, check] of shapes) {
    it(`ADD writes a ${version} result for a ${version} config`, async () => {
      const r = await invoke(ENV, conf({ cniVersion: version }));
      assert.equal(r.code, 0);
      assert.equal(r.json.cniVersion, version);
      assert.equal(r.json.interfaces[1].sandbox, '/run/netns/c1');
      assert.equal(r.json.ips[0].interface, 1);
      check(r.json);
    });
  }

  it('passes the parsed request: args in order, CNI_PATH split, prevResult decoded', async () => {
    const rec = recorder();
    const prevResult = { cniVersion: '0.4.0', interfaces: [{ name: 'lo', sandbox: '/run/netns/c1' }], ips: [{ version: '4', address: '127.0.0.1/8', interface: 0 }], dns: {} };
    await invoke({ ...ENV, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web', CNI_PATH: '/a:/b' }, conf({ cniVersion: '0.4.0', prevResult }), rec.handlers);
    const req = rec.calls[0];
    assert.deepEqual(req.args, [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']]);
    assert.deepEqual(req.path, ['/a', '/b']);
    assert.deepEqual(req.prevResult, { interfaces: [{ name: 'lo', sandbox: '/run/netns/c1' }], ips: [{ address: '127.0.0.1/8', interface: 0 }], routes: [], dns: {} });
  });

  it('writes a handler\'s CniError as is, and anything else as code 999, with nothing else on stdout', async () => {
    const spec = await invoke({ ...ENV, CNI_COMMAND: 'DEL' }, conf({ cniVersion: '1.0.0' }), recorder(new CniError(CniCode.TryAgainLater, 'busy', 'store locked')).handlers);
    assert.deepEqual(spec.json, { cniVersion: '1.0.0', code: 11, msg: 'busy', details: 'store locked' });
    const other = await invoke({ ...ENV, CNI_COMMAND: 'CHECK' }, conf(), recorder(new TypeError('boom')).handlers);
    assert.equal(other.json.code, 999);
    assert.equal(other.json.msg, 'boom');
    assert.equal(other.out.trim().split('\n').length, 1);
  });

  it('STATUS, GC, CHECK and DEL print nothing on success', async () => {
    for (const command of ['STATUS', 'GC', 'CHECK', 'DEL']) {
      const r = await invoke({ ...ENV, CNI_COMMAND: command }, conf());
      assert.equal(r.code, 0, command);
      assert.equal(r.out, '', command);
    }
  });

  it('loads lazy handlers only for commands that need them', async () => {
    let loaded = 0;
    const lazy = async () => (loaded++, recorder().handlers);
    let out = '';
    const io = { env: { CNI_COMMAND: 'VERSION' }, stdin: '', stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } };
    assert.equal(await runCni(lazy, io), 0);
    assert.equal(loaded, 0);
    assert.equal(await runCni(lazy, { ...io, env: ENV, stdin: conf() }), 0);
    assert.equal(loaded, 1);
  });

  it('parses CNI_ARGS', () => {
    assert.deepEqual(parseCniArgs(undefined), []);
    assert.deepEqual(parseCniArgs('A=1;;B=x=y;'), [['A', '1'], ['B', 'x=y']]);
    assert.throws(() => parseCniArgs('=1'), (e: CniError) => e.code === CniCode.InvalidEnvironment);
  });
});
