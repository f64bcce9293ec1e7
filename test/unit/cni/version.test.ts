/** Version ordering and the per-command version gates. */
import { strict as assert } from 'node:assert';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import { checkVersion, compareVersions, isSupported } from '../../../plugins/cni/version';

describe('cni versions', () => {
  it('orders versions numerically', () => {
    assert.ok(compareVersions('0.10.0', '0.4.0') > 0);
    assert.ok(compareVersions('1.0.0', '1.1.0') < 0);
    assert.equal(compareVersions('1.0', '1.0.0'), 0);
  });

  const table: [string, unknown, number | undefined][] = [
    ['ADD', '0.3.0', undefined], ['ADD', '1.1.0', undefined], ['DEL', '0.3.1', undefined], ['CHECK', '0.4.0', undefined],
    ['CHECK', '0.3.1', CniCode.IncompatibleVersion], ['GC', '1.0.0', CniCode.IncompatibleVersion], ['STATUS', '1.1.0', undefined],
    ['ADD', '0.1.0', CniCode.IncompatibleVersion], ['ADD', '1.2.0', CniCode.IncompatibleVersion], ['ADD', undefined, CniCode.InvalidNetworkConfig], ['ADD', 1, CniCode.InvalidNetworkConfig],
  ];
  for (const [cmd, v, code] of table) {
    it(`${cmd} with ${JSON.stringify(v)}: ${code ?? 'accepted'}`, () => {
      if (code === undefined) assert.equal(checkVersion(cmd as 'ADD', v), v);
      else assert.throws(() => checkVersion(cmd as 'ADD', v), (e: CniError) => e.code === code);
    });
  }

  it('knows what it supports', () => {
    assert.ok(isSupported('0.4.0'));
    assert.ok(!isSupported('0.2.0'));
    assert.ok(!isSupported(null));
  });
});
