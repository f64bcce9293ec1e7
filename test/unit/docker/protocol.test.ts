/** The protocol layer: paths, methods and bodies Docker cannot have meant get HTTP errors; Activate names both APIs. */
import { strict as assert } from 'node:assert';
import { testPlugin, type TestPlugin } from './helpers';

describe('docker plugin: protocol', () => {
  let p: TestPlugin;
  beforeEach(() => (p = testPlugin()));
  afterEach(() => p.dispose());

  it('Plugin.Activate implements NetworkDriver and IpamDriver, whatever the (empty) body', async () => {
    for (const raw of ['', 'null', '{}', '\n']) {
      assert.deepEqual(await p.call('/Plugin.Activate', undefined, { raw }), { status: 200, body: { Implements: ['NetworkDriver', 'IpamDriver'] } });
    }
  });

  it('an unknown call is 404, so Docker treats it as not implemented', async () => {
    for (const path of ['/NetworkDriver.Frobnicate', '/VolumeDriver.Create', '/', '/constructor', '/__proto__']) {
      const res = await p.call(path, {});
      assert.equal(res.status, 404, path);
      assert.match(String(res.body.Err), /not a call this plugin implements/);
    }
  });

  it('only POST is accepted', async () => {
    const res = await p.call('/Plugin.Activate', undefined, { method: 'GET' });
    assert.equal(res.status, 400);
    assert.match(String(res.body.Err), /POST requests, not GET/);
  });

  it('a call that takes a body refuses none at all', async () => {
    for (const raw of ['', 'null']) {
      const res = await p.call('/NetworkDriver.Join', undefined, { raw });
      assert.equal(res.status, 400);
      assert.match(String(res.body.Err), /body must be object/);
    }
  });

  it('every schema problem is named, not only the first', async () => {
    const res = await p.call('/IpamDriver.RequestPool', { V6: 'yes', Pool: 5 });
    assert.equal(res.status, 400);
    assert.match(String(res.body.Err), /required property 'AddressSpace'.*\/Pool must be string.*\/V6 must be boolean/);
  });
});
