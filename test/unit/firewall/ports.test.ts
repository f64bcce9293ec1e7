/** Docker's -p / -P parsing and host port choice, table-driven. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConflictError, ExhaustedError, InvalidArgumentError } from '../../../src/errors';
import { chooseHostPorts, ephemeralRange, hostIpsOverlap, parsePublish, publishAll } from '../../../src/firewall/ports';
import type { PortRequest } from '../../../src/model';

const req = (containerPort: number, hostPort = 0, hostIp = '', protocol: PortRequest['protocol'] = 'tcp', hostPortEnd = hostPort): PortRequest =>
  ({ protocol, containerPort, hostIp, hostPort, hostPortEnd });

describe('parsePublish', () => {
  const valid: [string, PortRequest[], string?][] = [
    ['80', [req(80)]],
    ['8080:80', [req(80, 8080)]],
    ['8080:80/udp', [req(80, 8080, '', 'udp')]],
    ['8080:80/SCTP', [req(80, 8080, '', 'sctp')]],
    ['127.0.0.1::80', [req(80, 0, '127.0.0.1')]],
    ['127.0.0.1:8080:80', [req(80, 8080, '127.0.0.1')]],
    ['[::1]:8080:80', [req(80, 8080, '::1')]],
    ['[::1]::80/udp', [req(80, 0, '::1', 'udp')]],
    ['::1:8080:80', [req(80, 8080, '::1')]],
    ['[2001:DB8::1]:8080:80', [req(80, 8080, '2001:db8::1')]],
    ['0.0.0.0:8080:80', [req(80, 8080, '0.0.0.0')]],
    ['8000-8002:80-82', [req(80, 8000), req(81, 8001), req(82, 8002)]],
    ['8000-8010:80', [req(80, 8000, '', 'tcp', 8010)]],
    ['80-81', [req(80), req(81)]],
    ['127.0.0.1::80-81/udp', [req(80, 0, '127.0.0.1', 'udp'), req(81, 0, '127.0.0.1', 'udp')]],
    ['8080:80', [req(80, 8080, '192.0.2.1')], '192.0.2.1'],
    ['10.0.0.1:8080:80', [req(80, 8080, '10.0.0.1')], '192.0.2.1'],
    ['65535:65535', [req(65535, 65535)]],
  ];
  for (const [spec, want, defaultIp] of valid) {
    it(`parses ${spec}${defaultIp ? ` (default ${defaultIp})` : ''}`, () => assert.deepEqual(parsePublish(spec, defaultIp), want));
  }

  const invalid: [string, RegExp][] = [
    ['0', /not in 1-65535/],
    ['65536', /not in 1-65535/],
    ['8080:0', /not in 1-65535/],
    ['70000:80', /not in 1-65535/],
    ['80/icmp', /unknown protocol "icmp"/],
    ['8000-8002:80-81', /differ in length/],
    ['8080:80-81', /differ in length/],
    ['90-80', /ends before it starts/],
    ['abc', /invalid container port "abc"/],
    ['8080:', /invalid container port ""/],
    ['300.1.1.1:8080:80', /invalid host address "300.1.1.1"/],
    ['[::1:8080:80', /unbalanced/],
    ['[::1]:80', /expected \[ip\]:hostPort:containerPort/],
    ['', /invalid container port ""/],
  ];
  for (const [spec, why] of invalid) {
    it(`rejects "${spec}" naming it`, () => {
      assert.throws(() => parsePublish(spec), (err: Error) => err instanceof InvalidArgumentError && err.message.includes(`"${spec}"`) && why.test(err.message));
    });
  }
});

describe('publishAll', () => {
  it('publishes every exposed port on a random host port of the default address', () => {
    assert.deepEqual(publishAll([{ protocol: 'tcp', port: 80 }, { protocol: 'udp', port: 53 }], '127.0.0.1'), [req(80, 0, '127.0.0.1'), req(53, 0, '127.0.0.1', 'udp')]);
  });
});

describe('chooseHostPorts', () => {
  const none = () => false;
  const opts = { range: [40000, 40009] as [number, number], random: () => 0.5 };

  it('keeps a fixed host port that is free', () => {
    assert.deepEqual(chooseHostPorts([req(80, 8080, '127.0.0.1')], none), [{ protocol: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 8080 }]);
  });

  it('refuses a taken host port with Docker\'s words, naming ip:port/proto', () => {
    const taken = (p: string, ip: string, port: number) => p === 'tcp' && port === 8080;
    assert.throws(() => chooseHostPorts([req(80, 8080, '127.0.0.1')], taken), (e: Error) => e instanceof ConflictError && e.message === 'bind for 127.0.0.1:8080/tcp failed: port is already allocated');
    assert.throws(() => chooseHostPorts([req(80, 8080, '::1')], taken), /\[::1\]:8080\/tcp failed: port is already allocated/);
    assert.throws(() => chooseHostPorts([req(80, 8080)], taken), /0\.0\.0\.0:8080\/tcp failed: port is already allocated/);
  });

  it('the same port for another protocol is free', () => {
    const taken = (p: string, _ip: string, port: number) => p === 'tcp' && port === 8080;
    assert.equal(chooseHostPorts([req(80, 8080, '', 'udp')], taken)[0].hostPort, 8080);
  });

  it('picks a random port of the ephemeral range, skipping taken ones and its own earlier picks', () => {
    const taken = (_p: string, _ip: string, port: number) => port === 40005;
    const got = chooseHostPorts([req(80), req(81), req(82)], taken, opts).map((b) => b.hostPort);
    assert.deepEqual(got, [40006, 40007, 40008]);
  });

  it('wraps around the range and reports exhaustion', () => {
    const taken = (_p: string, _ip: string, port: number) => port !== 40001;
    assert.equal(chooseHostPorts([req(80)], taken, opts)[0].hostPort, 40001);
    assert.throws(() => chooseHostPorts([req(80), req(81)], taken, opts), ExhaustedError);
  });

  it('picks the first free port of a host range, and refuses a full range', () => {
    const taken = (_p: string, _ip: string, port: number) => port === 8000 || port === 8001;
    assert.equal(chooseHostPorts([req(80, 8000, '', 'tcp', 8002)], taken)[0].hostPort, 8002);
    assert.throws(() => chooseHostPorts([req(80, 8000, '', 'tcp', 8001)], taken), /0\.0\.0\.0:8000-8001\/tcp failed: port is already allocated/);
  });

  it('two requests for one fixed port conflict when their addresses overlap', () => {
    assert.throws(() => chooseHostPorts([req(80, 8080), req(81, 8080, '127.0.0.1')], none), ConflictError);
    assert.equal(chooseHostPorts([req(80, 8080, '127.0.0.1'), req(81, 8080, '127.0.0.2')], none).length, 2);
  });

  it('gives ranges of equal length one host port each', () => {
    const got = chooseHostPorts(parsePublish('8000-8001:80-81/udp'), none);
    assert.deepEqual(got.map((b) => [b.hostPort, b.containerPort, b.protocol]), [[8000, 80, 'udp'], [8001, 81, 'udp']]);
  });
});

describe('hostIpsOverlap and ephemeralRange', () => {
  const cases: [string, string, boolean][] = [
    ['', '127.0.0.1', true], ['0.0.0.0', '127.0.0.1', true], ['127.0.0.1', '127.0.0.2', false],
    ['::', '::1', true], ['0.0.0.0', '::1', false], ['::1', '0:0::1', true], ['::', '0.0.0.0', false],
  ];
  for (const [a, b, want] of cases) it(`"${a}" vs "${b}" → ${want}`, () => assert.equal(hostIpsOverlap(a, b), want));

  it('reads the range file and falls back to the kernel default', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ports-'));
    try {
      fs.writeFileSync(path.join(dir, 'range'), '1024\t2048\n');
      assert.deepEqual(ephemeralRange(path.join(dir, 'range')), [1024, 2048]);
      assert.deepEqual(ephemeralRange(path.join(dir, 'missing')), [32768, 60999]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
