/**
 * rtnetlink constants, as the kernel's uapi headers define them (linux/netlink.h, rtnetlink.h,
 * if_link.h, if_addr.h, neighbour.h, veth.h). Names keep the header's spelling so they can be grepped.
 */

/** Address families used in rtnetlink headers. */
export const AF_UNSPEC = 0, AF_INET = 2, AF_BRIDGE = 7, AF_INET6 = 10, AF_NETLINK = 16;

/** Control message types (netlink.h). */
export const NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3;

/** nlmsg_flags (netlink.h): every request, and the GET/NEW modifiers. */
export const NLM_F_REQUEST = 0x01, NLM_F_MULTI = 0x02, NLM_F_ACK = 0x04, NLM_F_DUMP_INTR = 0x10;
/** NLM_F_DUMP is ROOT|MATCH. */
export const NLM_F_DUMP = 0x300;
/** Modifiers of NEW requests. */
export const NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400, NLM_F_APPEND = 0x800;
/** Flags of an NLMSG_ERROR reply: request capped, extended-ack TLVs follow. */
export const NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;

/** Extended-ack attributes of NLMSG_ERROR (netlink.h). */
export const NLMSGERR_ATTR_MSG = 1, NLMSGERR_ATTR_OFFS = 2;

/** Socket options (SOL_NETLINK level, netlink.h) and the generic ones tsnet sets. */
export const SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
/** Attribute type flags (netlink.h). */
export const NLA_F_NESTED = 0x8000, NLA_F_NET_BYTEORDER = 0x4000, NLA_TYPE_MASK = 0x3fff;

/** rtnetlink message types (rtnetlink.h). */
export const RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19;
/** Address message types. */
export const RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
/** Route message types. */
export const RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;
/** Neighbour (and FDB, with AF_BRIDGE) message types. */
export const RTM_NEWNEIGH = 28, RTM_DELNEIGH = 29, RTM_GETNEIGH = 30;

/** Interface flags (net/if.h). */
export const IFF_UP = 0x1;

/** Link attributes (if_link.h). */
export const IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10;
/** More link attributes. */
export const IFLA_PROTINFO = 12, IFLA_LINKINFO = 18, IFLA_NET_NS_FD = 28;
/** Inside IFLA_LINKINFO. */
export const IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
/** Inside veth's IFLA_INFO_DATA (veth.h): a struct ifinfomsg followed by the peer's attributes. */
export const VETH_INFO_PEER = 1;
/** Inside macvlan's IFLA_INFO_DATA (u32). */
export const IFLA_MACVLAN_MODE = 1;
/** macvlan modes. */
export const MACVLAN_MODE_PRIVATE = 1, MACVLAN_MODE_VEPA = 2, MACVLAN_MODE_BRIDGE = 4, MACVLAN_MODE_PASSTHRU = 8;
/** Inside ipvlan's IFLA_INFO_DATA (both u16). */
export const IFLA_IPVLAN_MODE = 1, IFLA_IPVLAN_FLAGS = 2;
/** ipvlan modes. */
export const IPVLAN_MODE_L2 = 0, IPVLAN_MODE_L3 = 1, IPVLAN_MODE_L3S = 2;
/** ipvlan flags (no flag is "bridge"). */
export const IPVLAN_F_PRIVATE = 0x01, IPVLAN_F_VEPA = 0x02;
/** Inside vlan's IFLA_INFO_DATA (u16). */
export const IFLA_VLAN_ID = 1;
/** Inside vxlan's IFLA_INFO_DATA. */
export const IFLA_VXLAN_ID = 1, IFLA_VXLAN_LINK = 3, IFLA_VXLAN_LOCAL = 4, IFLA_VXLAN_TTL = 5;
/** More vxlan attributes; IFLA_VXLAN_PORT is big-endian. */
export const IFLA_VXLAN_LEARNING = 7, IFLA_VXLAN_PROXY = 11, IFLA_VXLAN_PORT = 15, IFLA_VXLAN_LOCAL6 = 17;
/** Bridge port attributes inside IFLA_PROTINFO (u8 each); MODE is hairpin. */
export const IFLA_BRPORT_MODE = 4, IFLA_BRPORT_LEARNING = 8, IFLA_BRPORT_NEIGH_SUPPRESS = 32;

/** Address attributes (if_addr.h). */
export const IFA_ADDRESS = 1, IFA_LOCAL = 2;
/** ifa_flags: skip duplicate address detection. */
export const IFA_F_NODAD = 0x02;

/** Route attributes (rtnetlink.h). */
export const RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_TABLE = 15;
/** Route table, protocol, scope and type values. */
export const RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;

/** Neighbour attributes (neighbour.h). */
export const NDA_DST = 1, NDA_LLADDR = 2, NDA_IFINDEX = 8;
/** Neighbour flags: NTF_SELF addresses the device's own table (a vxlan FDB), not its master's. */
export const NTF_SELF = 0x02;
/** Neighbour states. */
export const NUD_INCOMPLETE = 0x01, NUD_REACHABLE = 0x02, NUD_STALE = 0x04, NUD_DELAY = 0x08;
/** More neighbour states. */
export const NUD_PROBE = 0x10, NUD_FAILED = 0x20, NUD_NOARP = 0x40, NUD_PERMANENT = 0x80;
