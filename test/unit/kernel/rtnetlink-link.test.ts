/**
 * Golden bytes of every RTM_NEWLINK the encoder builds. The expected hex is written by hand from
 * the uapi layout (linux/netlink.h, rtnetlink.h, if_link.h, veth.h), one field per line: all
 * integers little-endian except IFLA_VXLAN_PORT; attributes are {u16 len, u16 type} padded to 4;
 * NLA_F_NESTED is 0x8000. Every message uses seq 1 and pid 0.
 */
import { strict as assert } from 'node:assert';
import { newBridge, newDummy, newIpvlan, newMacvlan, newVeth, newVlan, newVxlan } from '../../../src/kernel/rtnetlink/link-kinds';
import { encodeMessage, type Request } from '../../../src/kernel/rtnetlink/nlmsg';

/** The hex of a request as it goes on the wire. */
const wire = (req: Request) => encodeMessage(req, 1).toString('hex');
/** Joins hand-written hex lines, dropping the spaces that separate fields. */
const hex = (...lines: string[]) => lines.join('').replace(/\s+/g, '');

/** nlmsghdr of RTM_NEWLINK (16) with REQUEST|ACK|EXCL|CREATE (0x605), seq 1, pid 0; len is the hex of the total length. */
const newlinkHdr = (len: string) => `${len}000000 1000 0506 01000000 00000000`;
/** An all-zero struct ifinfomsg: family, pad, type, index, flags, change. */
const IFINFO0 = '00 00 0000 00000000 00000000 00000000';

describe('rtnetlink encoder: links (golden bytes)', () => {
  it('bridge br0 with mtu 1500', () => {
    assert.equal(wire(newBridge({ name: 'br0', mtu: 1500 })), hex(
      newlinkHdr('40'), // 64 = 16 + 16 + 8 + 8 + 16
      IFINFO0,
      '0800 0300 62723000', // IFLA_IFNAME "br0\0"
      '0800 0400 dc050000', // IFLA_MTU 1500
      '1000 1280', // IFLA_LINKINFO | NLA_F_NESTED, 16
      '0b00 0100 627269646765 00 00', // IFLA_INFO_KIND "bridge\0" (11) + 1 pad
    ));
  });

  it('veth veth0 with peer eth0 created in the namespace of fd 7, peer MAC and mtu', () => {
    const req = newVeth({ name: 'veth0', mtu: 1500 }, { name: 'eth0', mtu: 1500, mac: Buffer.from('0242ac110002', 'hex'), netnsFd: 7 });
    assert.equal(wire(req), hex(
      newlinkHdr('84'), // 132 = 16 + 16 + 12 + 8 + 80
      IFINFO0,
      '0a00 0300 7665746830 00 0000', // IFLA_IFNAME "veth0\0" (10) + 2 pad
      '0800 0400 dc050000', // IFLA_MTU 1500
      '5000 1280', // IFLA_LINKINFO nested, 80
      '0900 0100 76657468 00 000000', // IFLA_INFO_KIND "veth\0" (9) + 3 pad
      '4000 0280', // IFLA_INFO_DATA nested, 64
      '3c00 0100', // VETH_INFO_PEER, 60: a struct ifinfomsg then the peer's attributes (no NESTED flag)
      IFINFO0,
      '0900 0300 65746830 00 000000', // IFLA_IFNAME "eth0\0" (9) + 3 pad
      '0800 0400 dc050000', // IFLA_MTU 1500
      '0a00 0100 0242ac110002 0000', // IFLA_ADDRESS 02:42:ac:11:00:02 (10) + 2 pad
      '0800 1c00 07000000', // IFLA_NET_NS_FD (28) 7
    ));
  });

  const modes = [['private', '01'], ['vepa', '02'], ['bridge', '04'], ['passthru', '08']] as const;
  for (const [mode, value] of modes) {
    it(`macvlan mv0 on link 2 in ${mode} mode`, () => {
      assert.equal(wire(newMacvlan({ name: 'mv0', parent: 2 }, mode)), hex(
        newlinkHdr('4c'), // 76 = 16 + 16 + 8 + 8 + 28
        IFINFO0,
        '0800 0300 6d763000', // IFLA_IFNAME "mv0\0"
        '0800 0500 02000000', // IFLA_LINK 2 (the parent)
        '1c00 1280', // IFLA_LINKINFO nested, 28
        '0c00 0100 6d6163766c616e00', // IFLA_INFO_KIND "macvlan\0"
        '0c00 0280', // IFLA_INFO_DATA nested, 12
        `0800 0100 ${value}000000`, // IFLA_MACVLAN_MODE (u32)
      ));
    });
  }

  it('macvlan with MAC, mtu and a target namespace, attributes in type order', () => {
    const req = newMacvlan({ name: 'mv0', parent: 2, mtu: 1400, mac: Buffer.from('020000000001', 'hex'), netnsFd: 9 }, 'bridge');
    assert.equal(wire(req), hex(
      newlinkHdr('68'), // 104 = 16 + 16 + 12 + 8 + 8 + 8 + 8 + 28
      IFINFO0,
      '0a00 0100 020000000001 0000', // IFLA_ADDRESS
      '0800 0300 6d763000', // IFLA_IFNAME "mv0\0"
      '0800 0400 78050000', // IFLA_MTU 1400
      '0800 0500 02000000', // IFLA_LINK 2
      '0800 1c00 09000000', // IFLA_NET_NS_FD 9
      '1c00 1280 0c00 0100 6d6163766c616e00 0c00 0280 0800 0100 04000000', // linkinfo: macvlan, mode bridge
    ));
  });

  const ipvlanModes = [['l2', '0000'], ['l3', '0100'], ['l3s', '0200']] as const;
  for (const [mode, value] of ipvlanModes) {
    it(`ipvlan ipv0 on link 2 in ${mode} mode`, () => {
      assert.equal(wire(newIpvlan({ name: 'ipv0', parent: 2 }, mode)), hex(
        newlinkHdr('50'), // 80 = 16 + 16 + 12 + 8 + 28
        IFINFO0,
        '0900 0300 69707630 00 000000', // IFLA_IFNAME "ipv0\0" + 3 pad
        '0800 0500 02000000', // IFLA_LINK 2
        '1c00 1280', // IFLA_LINKINFO nested, 28
        '0b00 0100 6970766c616e00 00', // IFLA_INFO_KIND "ipvlan\0" + 1 pad
        '0c00 0280', // IFLA_INFO_DATA nested, 12
        `0600 0100 ${value} 0000`, // IFLA_IPVLAN_MODE (u16) + 2 pad
      ));
    });
  }

  it('ipvlan l3 with the private flag', () => {
    assert.equal(wire(newIpvlan({ name: 'ipv0', parent: 2 }, 'l3', 'private')), hex(
      newlinkHdr('58'), // 88
      IFINFO0,
      '0900 0300 69707630 00 000000',
      '0800 0500 02000000',
      '2400 1280', // IFLA_LINKINFO nested, 36
      '0b00 0100 6970766c616e00 00',
      '1400 0280', // IFLA_INFO_DATA nested, 20
      '0600 0100 0100 0000', // IFLA_IPVLAN_MODE l3
      '0600 0200 0100 0000', // IFLA_IPVLAN_FLAGS IPVLAN_F_PRIVATE
    ));
  });

  it('vlan eth0.10 with id 10 on link 2', () => {
    assert.equal(wire(newVlan({ name: 'eth0.10', parent: 2 }, 10)), hex(
      newlinkHdr('50'), // 80 = 16 + 16 + 12 + 8 + 28
      IFINFO0,
      '0c00 0300 657468302e313000', // IFLA_IFNAME "eth0.10\0"
      '0800 0500 02000000', // IFLA_LINK 2
      '1c00 1280', // IFLA_LINKINFO nested, 28
      '0900 0100 766c616e 00 000000', // IFLA_INFO_KIND "vlan\0" + 3 pad
      '0c00 0280', // IFLA_INFO_DATA nested, 12
      '0600 0100 0a00 0000', // IFLA_VLAN_ID 10 (u16) + 2 pad
    ));
  });

  it('dummy dm0', () => {
    assert.equal(wire(newDummy({ name: 'dm0' })), hex(
      newlinkHdr('38'), // 56 = 16 + 16 + 8 + 16
      IFINFO0,
      '0800 0300 646d3000', // IFLA_IFNAME "dm0\0"
      '1000 1280', // IFLA_LINKINFO nested, 16
      '0a00 0100 64756d6d79 00 0000', // IFLA_INFO_KIND "dummy\0" + 2 pad
    ));
  });

  it('vxlan vx0: vni 4096, local 192.168.1.10, underlay 2, ttl 64, no learning, port 4789 big-endian, mtu 1450', () => {
    const req = newVxlan({ name: 'vx0', mtu: 1450 }, { vni: 4096, local: '192.168.1.10', link: 2, ttl: 64, learning: false, port: 4789 });
    assert.equal(wire(req), hex(
      newlinkHdr('74'), // 116 = 16 + 16 + 8 + 8 + 68
      IFINFO0,
      '0800 0300 76783000', // IFLA_IFNAME "vx0\0"
      '0800 0400 aa050000', // IFLA_MTU 1450
      '4400 1280', // IFLA_LINKINFO nested, 68
      '0a00 0100 7678 6c61 6e00 0000', // IFLA_INFO_KIND "vxlan\0" + 2 pad
      '3400 0280', // IFLA_INFO_DATA nested, 52
      '0800 0100 00100000', // IFLA_VXLAN_ID 4096
      '0800 0300 02000000', // IFLA_VXLAN_LINK 2
      '0800 0400 c0a8010a', // IFLA_VXLAN_LOCAL 192.168.1.10 (network order)
      '0500 0500 40 000000', // IFLA_VXLAN_TTL 64 (u8)
      '0500 0700 00 000000', // IFLA_VXLAN_LEARNING 0 (u8)
      '0600 0f00 12b5 0000', // IFLA_VXLAN_PORT 4789 = 0x12b5, __be16
    ));
  });

  it('vxlan with an IPv6 local address and the defaults (port 4789, learning off)', () => {
    assert.equal(wire(newVxlan({ name: 'vx0' }, { vni: 1, local: 'fd00::1' })), hex(
      newlinkHdr('68'), // 104 = 16 + 16 + 8 + 64
      IFINFO0,
      '0800 0300 76783000',
      '4000 1280', // IFLA_LINKINFO nested, 64
      '0a00 0100 7678 6c61 6e00 0000',
      '3000 0280', // IFLA_INFO_DATA nested, 48
      '0800 0100 01000000', // IFLA_VXLAN_ID 1
      '0500 0700 00 000000', // IFLA_VXLAN_LEARNING 0
      '0600 0f00 12b5 0000', // IFLA_VXLAN_PORT 4789
      '1400 1100 fd000000 00000000 00000000 00000001', // IFLA_VXLAN_LOCAL6 (17) fd00::1
    ));
  });

  it('a custom vxlan port goes big-endian: 8472 = 0x2118', () => {
    assert.ok(wire(newVxlan({ name: 'vx0' }, { vni: 1, port: 8472 })).includes(hex('0600 0f00 2118 0000')));
  });
});
