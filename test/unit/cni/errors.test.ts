/** Error mapping: tsnet's kinds, contention and I/O causes, and foreign errors to the spec's codes. */
import { strict as assert } from 'node:assert';
import { CniCode, CniError } from '../../../plugins/cni/codes';
import { toCniError } from '../../../plugins/cni/handlers';
import { ConflictError, ExhaustedError, InternalError, InvalidArgumentError, NotFoundError, UnsupportedError } from '../../../src/index';

const withCode = (code: string) => Object.assign(new Error(`failed: ${code}`), { code });

describe('cni error codes', () => {
  const table: [string, unknown, number][] = [
    ['InvalidArgument', new InvalidArgumentError('invalid CIDR "x"'), CniCode.InvalidNetworkConfig],
    ['Unsupported', new UnsupportedError('icc needs br_netfilter'), CniCode.InvalidNetworkConfig],
    ['Exhausted', new ExhaustedError('no available IPv4 address'), CniCode.TryAgainLater],
    ['Conflict', new ConflictError('port is already allocated'), CniCode.Internal],
    ['NotFound', new NotFoundError('link x: does not exist'), CniCode.Internal],
    ['Internal', new InternalError('netlink EIO'), CniCode.Internal],
    ['a busy store', new InternalError('open store', { cause: withCode('SQLITE_BUSY') }), CniCode.TryAgainLater],
    ['a full disk', withCode('ENOSPC'), CniCode.IoFailure],
    ['an AggregateError of teardown steps', new AggregateError([new Error('a')], 'gc: 1 failed'), CniCode.Internal],
    ['a TypeError', new TypeError('x is undefined'), CniCode.Internal],
    ['a thrown string', 'oops', CniCode.Internal],
  ];
  for (const [what, err, code] of table) {
    it(`${what} → ${code}`, () => {
      const e = toCniError(err);
      assert.ok(e instanceof CniError);
      assert.equal(e.code, code);
      assert.ok(e.message.length > 0);
    });
  }

  it('keeps a CniError as it is', () => {
    const e = new CniError(CniCode.UnknownContainer, 'gone');
    assert.equal(toCniError(e), e);
  });

  it('puts the cause into the message', () => {
    assert.equal(toCniError(new InternalError('create bridge', { cause: new Error('EPERM') })).message, 'create bridge: EPERM');
  });
});
