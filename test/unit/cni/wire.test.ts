/** The shim ↔ daemon framing: requests read back whole from any chunking, replies decoded, malformed input refused. */
import { strict as assert } from 'node:assert';
import { ACK, decodeReply, encodeReply, encodeRequest, MAX_ENV, RequestReader } from '../../../plugins/cni/wire';

const REQ = { env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'IgnoreUnknown=1;K=a=b', CNI_NETNS: '' }, stdin: Buffer.from('{"cniVersion":"1.1.0"}\0\xff') };

describe('cni wire framing', () => {
  it('reads a request back from one chunk and from single bytes', () => {
    const bytes = encodeRequest(REQ);
    assert.deepEqual(new RequestReader().push(bytes), REQ);
    const reader = new RequestReader();
    let got;
    for (let i = 0; i < bytes.length; i++) {
      got = reader.push(bytes.subarray(i, i + 1));
      assert.equal(got === undefined, i < bytes.length - 1, `complete only at the last byte (at ${i})`);
    }
    assert.deepEqual(got, REQ);
  });

  it('keeps "=" inside values and empty values', () => {
    const got = new RequestReader().push(encodeRequest(REQ))!;
    assert.equal(got.env.CNI_ARGS, 'IgnoreUnknown=1;K=a=b');
    assert.equal(got.env.CNI_NETNS, '');
  });

  it('refuses a foreign magic, oversized fields, trailing bytes and entries without "="', () => {
    assert.throws(() => new RequestReader().push(Buffer.from('GET / HTTP/1.1\r\n')), /bad magic/);
    const big = Buffer.alloc(8);
    big.write('CNI1');
    big.writeUInt32BE(MAX_ENV + 1, 4);
    assert.throws(() => new RequestReader().push(big), /exceeds/);
    assert.throws(() => new RequestReader().push(Buffer.concat([encodeRequest(REQ), Buffer.from('x')])), /after the request/);
    const env = Buffer.from('NOEQUALS\0');
    const bad = Buffer.concat([Buffer.from('CNI1'), Buffer.from([0, 0, 0, env.length]), env, Buffer.alloc(4)]);
    assert.throws(() => new RequestReader().push(bad), /malformed environment/);
  });

  it('decodes the ack and a whole reply; a cut reply is acked but has no reply', () => {
    const reply = { code: 1, stdout: '{"code":7}\n', stderr: 'tsnet-cni: 7 …\n' };
    const bytes = Buffer.concat([ACK, encodeReply(reply)]);
    assert.deepEqual(decodeReply(bytes), { acked: true, reply });
    assert.deepEqual(decodeReply(bytes.subarray(0, bytes.length - 1)), { acked: true });
    assert.deepEqual(decodeReply(ACK), { acked: true });
    assert.deepEqual(decodeReply(Buffer.alloc(0)), { acked: false });
  });
});
