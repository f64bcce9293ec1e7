/**
 * Decoders against real kernel replies: fixtures/netlink/*.hex hold every datagram iproute2 read
 * (one hex line each), recorded by strace in scripts/capture-netlink-fixtures.sh, which also shows
 * what was created. Plus the framing and extended-ACK edge cases, written from linux/netlink.h.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, InternalError, NotFoundError } from '../../../src/errors';
import { decodeAddr } from '../../../src/kernel/rtnetlink/address';
import { errnoName, netlinkError } from '../../../src/kernel/rtnetlink/errors';
import { decodeLink } from '../../../src/kernel/rtnetlink/link';
import { decodeFdb, decodeNeigh, stateName } from '../../../src/kernel/rtnetlink/neigh';
import { absorb, decodeDone, decodeError, type Message, newAnswer, parseMessages } from '../../../src/kernel/rtnetlink/nlmsg';
import { decodeRoute } from '../../../src/kernel/rtnetlink/route';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'netlink');

/** Every message of every datagram in a fixture. */
function messages(name: string): Message[] {
  return fs.readFileSync(path.join(FIXTURES, `${name}.hex`), 'utf8').trim().split('\n').flatMap((l) => parseMessages(Buffer.from(l, 'hex')));
}
/** The messages of one type (the last sequence number's: iproute2 also asks for other things first). */
const ofType = (name: string, type: number) => messages(name).filter((m) => m.type === type);
const RTM_NEWLINK = 16, RTM_NEWADDR = 20, RTM_NEWROUTE = 24, RTM_NEWNEIGH = 28, NLMSG_ERROR = 2, NLMSG_DONE = 3;

describe('rtnetlink decoder: captured kernel replies', () => {
  it('a veth enslaved to a bridge: name, kind, MTU, MAC, master, up, and its peer as IFLA_LINK', () => {
    const veth = ofType('link-veth', RTM_NEWLINK).map((m) => decodeLink(m.body)).find((l) => l.name === 'veth-fx');
    assert.deepEqual(veth, { index: 4, name: 'veth-fx', kind: 'veth', mtu: 1400, mac: '02:00:00:00:0f:02', master: 2, up: true, parent: 3 });
  });

  it('a bridge, a macvlan on it (parent = the bridge) and a vxlan', () => {
    const one = (f: string, name: string) => ofType(f, RTM_NEWLINK).map((m) => decodeLink(m.body)).find((l) => l.name === name);
    assert.deepEqual(one('link-bridge', 'br-fx'), { index: 2, name: 'br-fx', kind: 'bridge', mtu: 1400, mac: '02:00:00:00:0f:01', up: true });
    assert.deepEqual(one('link-macvlan', 'mv-fx'), { index: 5, name: 'mv-fx', kind: 'macvlan', mtu: 1400, mac: '02:00:00:00:0f:03', up: false, parent: 2 });
    assert.deepEqual(one('link-vxlan', 'vx-fx'), { index: 6, name: 'vx-fx', kind: 'vxlan', mtu: 1500, mac: '02:00:00:00:0f:04', up: false });
  });

  it('a link dump is NLM_F_MULTI parts closed by NLMSG_DONE', () => {
    const dump = messages('neigh-dump').filter((m) => m.seq === messages('neigh-dump')[0].seq);
    assert.deepEqual(dump.map((m) => m.type), [16, 16, 16, 16, 16, 16, NLMSG_DONE]);
    assert.ok(dump.every((m) => m.flags & 0x02));
    assert.deepEqual(decodeDone(dump[6]), { errno: 0 });
  });

  it('an address dump, v4 and v6', () => {
    assert.deepEqual(ofType('addr-dump', RTM_NEWADDR).map((m) => decodeAddr(m.body)), [
      { index: 2, cidr: '192.0.2.1/24', family: 4 },
      { index: 2, cidr: '2001:db8::1/64', family: 6 },
    ]);
  });

  it('a route dump: the connected route and one via a gateway', () => {
    assert.deepEqual(ofType('route-dump', RTM_NEWROUTE).map((m) => decodeRoute(m.body)), [
      { family: 4, dst: '192.0.2.0/24', oif: 2 },
      { family: 4, dst: '198.51.100.0/24', gateway: '192.0.2.254', oif: 2 },
    ]);
  });

  it('a neighbour dump: the permanent entry and the kernel’s own multicast one', () => {
    assert.deepEqual(ofType('neigh-dump', RTM_NEWNEIGH).map((m) => decodeNeigh(m.body)), [
      { index: 2, ip: '224.0.0.22', state: 'noarp', mac: '01:00:5e:00:00:16' },
      { index: 2, ip: '192.0.2.7', state: 'permanent', mac: '02:00:00:00:0f:07' },
    ]);
  });

  it('a vxlan FDB dump: a unicast entry and the all-zeros flood entry, both to a remote', () => {
    assert.deepEqual(ofType('fdb-dump', RTM_NEWNEIGH).map((m) => decodeFdb(m.body)), [
      { index: 6, mac: '02:00:00:00:0f:09', permanent: true, dst: '192.0.2.9' },
      { index: 6, mac: '00:00:00:00:00:00', permanent: true, dst: '192.0.2.8' },
    ]);
  });

  it('EEXIST without an extended ACK', () => {
    const [, err] = ofType('error-eexist', NLMSG_ERROR);
    assert.deepEqual(decodeError(err), { errno: 17 });
  });

  it('an uncapped error echoes the request; the extended ACK text follows it', () => {
    const [, err] = ofType('error-extack', NLMSG_ERROR);
    assert.equal(err.flags, 0x200); // NLM_F_ACK_TLVS, not NLM_F_CAPPED
    assert.deepEqual(decodeError(err), { errno: 95, message: 'Unknown device type', offset: undefined });
  });
});

describe('rtnetlink decoder: hand-written edge cases', () => {
  it('a capped error: TLVs start right after the 16-byte echoed header', () => {
    const body = Buffer.from([
      'ea ff ff ff', // error -22 (EINVAL)
      '20000000 1000 0506 07000000 00000000', // the request's nlmsghdr only
      '1600 0100 696e76616c696420617474726962757465 00 0000', // NLMSGERR_ATTR_MSG "invalid attribute\0" (22) + 2 pad
      '0800 0200 20000000', // NLMSGERR_ATTR_OFFS 32
    ].join('').replace(/\s+/g, ''), 'hex');
    const m: Message = { type: NLMSG_ERROR, flags: 0x300, seq: 7, pid: 0, body };
    assert.deepEqual(decodeError(m), { errno: 22, message: 'invalid attribute', offset: 32 });
  });

  it('an ACK is errno 0', () => {
    assert.deepEqual(decodeError({ type: NLMSG_ERROR, flags: 0x100, seq: 1, pid: 0, body: Buffer.alloc(20) }), { errno: 0 });
  });

  it('a vlan link carries its id in IFLA_INFO_DATA', () => {
    const body = Buffer.from([
      '00 00 0100 07000000 43100100 00000000', // ifinfomsg: ARPHRD_ETHER, index 7, IFF_UP|RUNNING|LOWER_UP
      '0c00 0300 657468302e313000', // IFLA_IFNAME "eth0.10\0"
      '0800 0400 dc050000', // IFLA_MTU 1500
      '0800 0500 02000000', // IFLA_LINK 2
      '1c00 1200', // IFLA_LINKINFO (kernels send nests without NLA_F_NESTED)
      '0900 0100 766c616e 00 000000', // IFLA_INFO_KIND "vlan\0"
      '0c00 0200 0600 0100 0a00 0000', // IFLA_INFO_DATA { IFLA_VLAN_ID 10 }
    ].join('').replace(/\s+/g, ''), 'hex');
    assert.deepEqual(decodeLink(body), { index: 7, name: 'eth0.10', kind: 'vlan', mtu: 1500, up: true, parent: 2, vlanId: 10 });
  });

  it('routes outside the main table or not unicast are left out', () => {
    const local = Buffer.from('02 20 00 00 ff 02 fe 02 00000000 0800 0f00 ff000000'.replace(/\s+/g, ''), 'hex'); // table local, RTN_LOCAL
    assert.equal(decodeRoute(local), undefined);
  });

  it('a truncated message is an error, not a silent drop', () => {
    assert.throws(() => parseMessages(Buffer.from('40000000 1000 0000 01000000 00000000'.replace(/\s+/g, ''), 'hex')), /malformed netlink message/);
  });

  it('NUD state names follow ip-neighbour', () => {
    assert.deepEqual([0x80, 0x40, 0x02, 0x04, 0x20, 0x00].map(stateName), ['permanent', 'noarp', 'reachable', 'stale', 'failed', 'none']);
  });
});

describe('rtnetlink errors: errno to typed error', () => {
  const cases: [number, string, unknown][] = [
    [17, 'EEXIST', ConflictError], [98, 'EADDRINUSE', ConflictError], [16, 'EBUSY', ConflictError],
    [19, 'ENODEV', NotFoundError], [2, 'ENOENT', NotFoundError], [3, 'ESRCH', NotFoundError], [99, 'EADDRNOTAVAIL', NotFoundError],
    [22, 'EINVAL', InternalError], [1, 'EPERM', InternalError], [95, 'EOPNOTSUPP', InternalError],
  ];
  for (const [errno, code, kind] of cases) {
    it(`${code} is ${(kind as { name: string }).name}`, () => {
      assert.equal(errnoName(errno), code);
      assert.ok(netlinkError('op', { errno }, 'text') instanceof (kind as typeof Error));
    });
  }

  it('names the operation, the errno with the kernel’s text, then the extended ACK', () => {
    assert.equal(netlinkError('create veth vethab12', { errno: 17 }, 'File exists').message, 'create veth vethab12: EEXIST (File exists)');
    const e = netlinkError('create vlan v0', { errno: 95, message: 'Unknown device type' }, 'Operation not supported');
    assert.equal(e.message, 'create vlan v0: EOPNOTSUPP (Operation not supported): Unknown device type');
    assert.equal((e.cause as { errno: number }).errno, 95);
  });
});

describe('rtnetlink answers: one request, several datagrams', () => {
  /** A message of seq with type and flags; errno fills the body of NLMSG_ERROR/DONE. */
  const msg = (seq: number, type: number, flags = 0, errno = 0): Message => {
    const body = Buffer.alloc(type === NLMSG_ERROR ? 20 : 4);
    body.writeInt32LE(-errno, 0);
    return { type, flags, seq, pid: 0, body };
  };
  const MULTI = 0x02, DUMP_INTR = 0x10, DUMP = 0x301, ACKED = 0x05, GET = 0x01;

  it('skips answers to an earlier request that timed out, then reads its own ACK', () => {
    const a = absorb(newAnswer(), [msg(6, RTM_NEWLINK, MULTI), msg(6, NLMSG_DONE, MULTI), msg(6, NLMSG_ERROR)], 7, ACKED);
    assert.equal(a.done, false);
    absorb(a, [msg(7, NLMSG_ERROR)], 7, ACKED);
    assert.deepEqual([a.done, a.messages.length, a.status], [true, 0, { errno: 0 }]);
  });

  it('collects a dump across datagrams until NLMSG_DONE and notes an interrupted part', () => {
    const a = absorb(newAnswer(), [msg(3, RTM_NEWLINK, MULTI), msg(3, RTM_NEWLINK, MULTI)], 3, DUMP);
    absorb(a, [msg(3, RTM_NEWLINK, MULTI | DUMP_INTR)], 3, DUMP);
    assert.equal(a.done, false);
    absorb(a, [msg(3, NLMSG_DONE, MULTI)], 3, DUMP);
    assert.deepEqual([a.done, a.messages.length, a.interrupted, a.status], [true, 3, true, { errno: 0 }]);
  });

  it('a dump that fails half way reports the errno of its NLMSG_DONE', () => {
    const a = absorb(newAnswer(), [msg(4, RTM_NEWLINK, MULTI), msg(4, NLMSG_DONE, MULTI, 16)], 4, DUMP);
    assert.deepEqual([a.done, a.status], [true, { errno: 16 }]);
  });

  it('a plain GET ends with its one reply; a refusal ends with the error', () => {
    assert.deepEqual(absorb(newAnswer(), [msg(5, RTM_NEWLINK)], 5, GET).done, true);
    assert.deepEqual(absorb(newAnswer(), [msg(5, NLMSG_ERROR, 0, 19)], 5, GET).status, { errno: 19 });
  });

  it('copies message bodies: the socket reuses its receive buffer', () => {
    const m = msg(8, RTM_NEWLINK, MULTI);
    const a = absorb(newAnswer(), [m], 8, DUMP);
    m.body.fill(0xff);
    assert.notEqual(a.messages[0].body[0], 0xff);
  });
});
