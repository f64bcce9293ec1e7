/**
 * Golden bytes of the address, route, neighbour, FDB and RTM_SETLINK/DELLINK/GETLINK messages.
 * The expected hex is written by hand from the uapi layout (rtnetlink.h, if_addr.h, neighbour.h,
 * if_link.h): struct ifaddrmsg is 8 bytes, rtmsg 12, ndmsg 12, ifinfomsg 16. seq 1, pid 0.
 */
import { strict as assert } from 'node:assert';
import { delAddr, dumpAddrs, newAddr } from '../../../src/kernel/rtnetlink/address';
import { setBridgePort } from '../../../src/kernel/rtnetlink/link-kinds';
import { delLink, dumpLinks, getLink, setLinkMac, setLinkMaster, setLinkMtu, setLinkName, setLinkNetns, setLinkUp } from '../../../src/kernel/rtnetlink/link';
import { delFdb, delNeigh, dumpFdb, dumpNeigh, newFdb, newNeigh } from '../../../src/kernel/rtnetlink/neigh';
import { encodeMessage, type Request } from '../../../src/kernel/rtnetlink/nlmsg';
import { delRoute, dumpRoutes, newRoute } from '../../../src/kernel/rtnetlink/route';

const wire = (req: Request) => encodeMessage(req, 1).toString('hex');
const hex = (...lines: string[]) => lines.join('').replace(/\s+/g, '');
/** nlmsghdr: total length (1 byte of hex, little-endian u32), type (u16 LE hex), flags (u16 LE hex), seq 1, pid 0. */
const hdr = (len: string, type: string, flags: string) => `${len}000000 ${type} ${flags} 01000000 00000000`;
// Types: RTM_NEWADDR 0x14, DELADDR 0x15, GETADDR 0x16, NEWROUTE 0x18, DELROUTE 0x19, GETROUTE 0x1a,
// NEWNEIGH 0x1c, DELNEIGH 0x1d, GETNEIGH 0x1e, DELLINK 0x11, GETLINK 0x12, SETLINK 0x13.
// Flags: create = REQUEST|ACK|EXCL|CREATE 0x0605; ack = REQUEST|ACK 0x0005; dump = REQUEST|ROOT|MATCH 0x0301;
// upsert = REQUEST|ACK|REPLACE|CREATE 0x0505; append = REQUEST|ACK|CREATE|APPEND 0x0c05; get = REQUEST 0x0001.

describe('rtnetlink encoder: addresses (golden bytes)', () => {
  it('adds 172.17.0.1/16 on link 3 with IFA_ADDRESS and IFA_LOCAL', () => {
    assert.equal(wire(newAddr(3, '172.17.0.1/16')), hex(
      hdr('28', '1400', '0506'), // 40
      '02 10 00 00 03000000', // ifaddrmsg: AF_INET, prefixlen 16, flags 0, scope 0, index 3
      '0800 0100 ac110001', // IFA_ADDRESS
      '0800 0200 ac110001', // IFA_LOCAL
    ));
  });

  it('adds fd00::2/64 with IFA_F_NODAD', () => {
    assert.equal(wire(newAddr(3, 'fd00::2/64')), hex(
      hdr('2c', '1400', '0506'), // 44
      '0a 40 02 00 03000000', // AF_INET6, prefixlen 64, IFA_F_NODAD, scope 0, index 3
      '1400 0100 fd000000 00000000 00000000 00000002', // IFA_ADDRESS
    ));
  });

  it('deletes 172.17.0.1/16 and dumps the addresses of link 3', () => {
    assert.equal(wire(delAddr(3, '172.17.0.1/16')), hex(hdr('28', '1500', '0500'), '02 10 00 00 03000000', '0800 0100 ac110001', '0800 0200 ac110001'));
    assert.equal(wire(dumpAddrs(3)), hex(hdr('18', '1600', '0103'), '00 00 00 00 03000000')); // AF_UNSPEC, index filter 3
  });
});

describe('rtnetlink encoder: routes (golden bytes)', () => {
  it('adds a default route via 172.17.0.1 out of link 5', () => {
    assert.equal(wire(newRoute({ gateway: '172.17.0.1', oif: 5 })), hex(
      hdr('2c', '1800', '0506'), // 44
      '02 00 00 00 fe 03 00 01 00000000', // rtmsg: AF_INET, dst_len 0, src_len 0, tos 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, flags
      '0800 0400 05000000', // RTA_OIF 5
      '0800 0500 ac110001', // RTA_GATEWAY 172.17.0.1
    ));
  });

  it('adds 10.1.0.0/16 via 10.0.0.1 with metric 100', () => {
    assert.equal(wire(newRoute({ dst: '10.1.0.0/16', gateway: '10.0.0.1', metric: 100 })), hex(
      hdr('34', '1800', '0506'), // 52
      '02 10 00 00 fe 03 00 01 00000000',
      '0800 0100 0a010000', // RTA_DST
      '0800 0500 0a000001', // RTA_GATEWAY
      '0800 0600 64000000', // RTA_PRIORITY 100
    ));
  });

  it('adds an IPv6 default route ::/0 via fd00::1 out of link 5', () => {
    assert.equal(wire(newRoute({ dst: '::/0', gateway: 'fd00::1', oif: 5 })), hex(
      hdr('4c', '1800', '0506'), // 76
      '0a 00 00 00 fe 03 00 01 00000000',
      '1400 0100 00000000 00000000 00000000 00000000', // RTA_DST ::
      '0800 0400 05000000',
      '1400 0500 fd000000 00000000 00000000 00000001', // RTA_GATEWAY fd00::1
    ));
  });

  it('an on-link route has scope link; delete and dump', () => {
    const onLink = hex('02 18 00 00 fe 03 fd 01 00000000', '0800 0100 0a020000', '0800 0400 05000000');
    assert.equal(wire(newRoute({ dst: '10.2.0.0/24', oif: 5 })), hex(hdr('2c', '1800', '0506'), onLink));
    assert.equal(wire(delRoute({ dst: '10.2.0.0/24', oif: 5 })), hex(hdr('2c', '1900', '0500'), onLink));
    assert.equal(wire(dumpRoutes(6)), hex(hdr('1c', '1a00', '0103'), '0a 00 00 00 00 00 00 00 00000000'));
  });
});

describe('rtnetlink encoder: neighbours and FDB (golden bytes)', () => {
  it('adds a permanent ARP entry 10.0.0.2 at 02:42:0a:00:00:02 on link 4', () => {
    assert.equal(wire(newNeigh(4, '10.0.0.2', '02:42:0a:00:00:02')), hex(
      hdr('30', '1c00', '0505'), // 48
      '02 00 0000 04000000 8000 00 00', // ndmsg: AF_INET, pads, ifindex 4, NUD_PERMANENT, flags 0, type 0
      '0800 0100 0a000002', // NDA_DST
      '0a00 0200 02420a000002 0000', // NDA_LLADDR
    ));
  });

  it('a non-permanent entry is NUD_REACHABLE; IPv6 uses AF_INET6', () => {
    assert.ok(wire(newNeigh(4, '10.0.0.2', '02:42:0a:00:00:02', false)).includes(hex('02 00 0000 04000000 0200 00 00')));
    assert.equal(wire(newNeigh(4, 'fd00::2', '02:42:0a:00:00:02')), hex(
      hdr('3c', '1c00', '0505'), // 60
      '0a 00 0000 04000000 8000 00 00',
      '1400 0100 fd000000 00000000 00000000 00000002',
      '0a00 0200 02420a000002 0000',
    ));
  });

  it('deletes a neighbour and dumps one link of one family (NDA_IFINDEX, not the header, under strict checking)', () => {
    assert.equal(wire(delNeigh(4, '10.0.0.2')), hex(hdr('24', '1d00', '0500'), '02 00 0000 04000000 0000 00 00', '0800 0100 0a000002'));
    assert.equal(wire(dumpNeigh(4, 4)), hex(hdr('24', '1e00', '0103'), '02 00 0000 00000000 0000 00 00', '0800 0800 04000000'));
    assert.equal(wire(dumpNeigh()), hex(hdr('1c', '1e00', '0103'), '00 00 0000 00000000 0000 00 00'));
  });

  it('adds a vxlan FDB entry: AF_BRIDGE, NTF_SELF, NDA_DST the remote VTEP', () => {
    assert.equal(wire(newFdb(6, '02:42:0a:00:00:02', '192.168.1.20')), hex(
      hdr('30', '1c00', '0505'),
      '07 00 0000 06000000 8000 02 00', // AF_BRIDGE, ifindex 6, NUD_PERMANENT, NTF_SELF
      '0800 0100 c0a80114', // NDA_DST
      '0a00 0200 02420a000002 0000', // NDA_LLADDR
    ));
  });

  it('the all-zeros flood entry is appended (vxlan refuses REPLACE for it)', () => {
    assert.equal(wire(newFdb(6, '00:00:00:00:00:00', '192.168.1.21')), hex(
      hdr('30', '1c00', '050c'),
      '07 00 0000 06000000 8000 02 00',
      '0800 0100 c0a80115',
      '0a00 0200 000000000000 0000',
    ));
  });

  it('deletes FDB entries with and without a remote, and dumps one port', () => {
    assert.equal(wire(delFdb(6, '02:42:0a:00:00:02', '192.168.1.20')), hex(
      hdr('30', '1d00', '0500'), '07 00 0000 06000000 0000 02 00', '0800 0100 c0a80114', '0a00 0200 02420a000002 0000'));
    assert.equal(wire(delFdb(6, '02:42:0a:00:00:02')), hex(hdr('28', '1d00', '0500'), '07 00 0000 06000000 0000 02 00', '0a00 0200 02420a000002 0000'));
    assert.equal(wire(dumpFdb(6)), hex(hdr('24', '1e00', '0103'), '07 00 0000 00000000 0000 00 00', '0800 0800 06000000'));
  });
});

describe('rtnetlink encoder: setlink, dellink, getlink (golden bytes)', () => {
  /** struct ifinfomsg for link 3 with flags and change (hex u32 LE each). */
  const ifi3 = (flags = '00000000', change = '00000000', family = '00') => `${family} 00 0000 03000000 ${flags} ${change}`;
  const cases: [string, Request, string][] = [
    ['up', setLinkUp(3, true), hex(hdr('20', '1300', '0500'), ifi3('01000000', '01000000'))],
    ['down', setLinkUp(3, false), hex(hdr('20', '1300', '0500'), ifi3('00000000', '01000000'))],
    ['master 2', setLinkMaster(3, 2), hex(hdr('28', '1300', '0500'), ifi3(), '0800 0a00 02000000')],
    ['no master', setLinkMaster(3, 0), hex(hdr('28', '1300', '0500'), ifi3(), '0800 0a00 00000000')],
    ['to netns fd 9 as eth1', setLinkNetns(3, 9, 'eth1'), hex(hdr('34', '1300', '0500'), ifi3(), '0900 0300 65746831 00 000000', '0800 1c00 09000000')],
    ['to netns fd 9', setLinkNetns(3, 9), hex(hdr('28', '1300', '0500'), ifi3(), '0800 1c00 09000000')],
    ['rename eth2', setLinkName(3, 'eth2'), hex(hdr('2c', '1300', '0500'), ifi3(), '0900 0300 65746832 00 000000')],
    ['mtu 9000', setLinkMtu(3, 9000), hex(hdr('28', '1300', '0500'), ifi3(), '0800 0400 28230000')],
    ['mac', setLinkMac(3, Buffer.from('0242ac110005', 'hex')), hex(hdr('2c', '1300', '0500'), ifi3(), '0a00 0100 0242ac110005 0000')],
    // AF_BRIDGE (7), IFLA_PROTINFO (12) | NLA_F_NESTED holding u8 IFLA_BRPORT_* flags.
    ['hairpin on', setBridgePort(3, { hairpin: true }), hex(hdr('2c', '1300', '0500'), ifi3(undefined, undefined, '07'), '0c00 0c80', '0500 0400 01 000000')],
    ['learning off, neighbour suppression on', setBridgePort(3, { learning: false, neighSuppress: true }),
      hex(hdr('34', '1300', '0500'), ifi3(undefined, undefined, '07'), '1400 0c80', '0500 0800 00 000000', '0500 2000 01 000000')],
    ['delete by index', delLink(7), hex(hdr('20', '1100', '0500'), '00 00 0000 07000000 00000000 00000000')],
    ['delete by name', delLink('veth0'), hex(hdr('2c', '1100', '0500'), '00 00 0000 00000000 00000000 00000000', '0a00 0300 7665746830 00 0000')],
    ['get by name', getLink('eth0'), hex(hdr('2c', '1200', '0100'), '00 00 0000 00000000 00000000 00000000', '0900 0300 65746830 00 000000')],
    ['dump', dumpLinks(), hex(hdr('20', '1200', '0103'), '00 00 0000 00000000 00000000 00000000')],
  ];
  for (const [name, req, expected] of cases) it(name, () => assert.equal(wire(req), expected));
});
