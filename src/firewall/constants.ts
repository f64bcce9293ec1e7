/** Every kernel-visible firewall name tsnet uses: chains, tables, sets, sysctl keys, lock path. */

/** Filter chain jumped to from FORWARD, holding every network's forwarding policy. */
export const CHAIN_FORWARD = 'TSNET-FORWARD';
/** nat chain jumped to for locally addressed traffic (PREROUTING and OUTPUT); holds one DNAT per published port. */
export const CHAIN_DNAT = 'TSNET-DNAT';
/** nat chain jumped to from POSTROUTING: outbound masquerade, hairpin and localhost masquerade. */
export const CHAIN_POSTROUTING = 'TSNET-POSTROUTING';
/** Docker's first isolation stage: traffic leaving a tsnet bridge for another interface. */
export const CHAIN_ISOLATION_1 = 'TSNET-ISOLATION-STAGE-1';
/** Docker's second isolation stage: drop it when it enters another tsnet bridge. */
export const CHAIN_ISOLATION_2 = 'TSNET-ISOLATION-STAGE-2';
/**
 * Filter chain every network chain jumps to for DNAT'd connections: the forward accepts of published
 * ports, indexed by host port like CHAIN_DNAT (see PORT_BUCKET_BITS).
 */
export const CHAIN_PUBLISHED = 'TSNET-PUBLISHED';
/**
 * iptables: published ports live in bucket chains `TSNET-DNAT-<proto>-<n>` and
 * `TSNET-PUBLISHED-<proto>-<n>` holding host ports n·64 … n·64+63, jumped to by one range rule
 * each. Publishing or unpublishing then lists and edits one bucket instead of a chain of every
 * published port (iptables-nft re-reads a chain per change). The size is measured: a full bucket
 * of 256 made a publish ~5 ms dearer, while 16-port buckets mean so many chains for scattered
 * (-P) ports that iptables-nft's listing slows down with the chain count.
 */
export const PORT_BUCKET_BITS = 6;
/** Operators' chain: created once, jumped to first, never flushed or edited by tsnet. */
export const CHAIN_USER = 'TSNET-USER';
/** Prefix of per-network chains (`TSNET-<13 hex>`), as netavark names `NETAVARK-<hash>`. */
export const CHAIN_NETWORK_PREFIX = 'TSNET-';
/** Hex characters of the network-id hash in per-network names (netavark's create_network_hash). */
export const NETWORK_HASH_LEN = 13;

/** nftables: the one table tsnet owns; `inet` so a single table serves IPv4 and IPv6 filter and NAT. */
export const NFT_TABLE = 'tsnet';
/** nftables family of NFT_TABLE. */
export const NFT_FAMILY = 'inet';
/** nftables base chains (hooked) of the tsnet table. */
export const NFT_CHAIN_PREROUTING = 'TSNET-PREROUTING';
/** nftables nat output chain: DNAT for connections the host itself opens. */
export const NFT_CHAIN_OUTPUT = 'TSNET-OUTPUT';

/** nftables sets and maps: publishing a port or adding a network is an element add, never a rule rewrite. */
export const NFT_SET = {
  /** ifname: every tsnet bridge. */
  bridges: 'bridges',
  /** ifname . ifname: "br" . "br" for every bridge, so rules can say "stays on its own bridge". */
  same: 'same-bridge',
  /** ifname . ifname: bridges with enable_icc=false. */
  iccOff: 'icc-off',
  /** ifname: internal bridges. */
  internal: 'internal',
  /** ifname . addr (interval): each bridge with its subnets. */
  local4: 'local4',
  local6: 'local6',
  /** addr (interval): subnets masqueraded when leaving their bridge. */
  masq4: 'masq4',
  masq6: 'masq6',
  /** container addr . proto . port: forwarding accepted into the bridge. */
  published4: 'published4',
  published6: 'published6',
  /** host addr . proto . port → container addr . port. */
  dnat4: 'dnat4',
  dnat6: 'dnat6',
  /** proto . port → container addr . port, for bindings on every host address. */
  dnat4Any: 'dnat4-any',
  dnat6Any: 'dnat6-any',
  /**
   * proto . port → NFT_CLAIM_*: who holds a host port, so the kernel itself refuses, atomically and
   * without a listing, a binding on every address next to one on a single address (map elements
   * with one key and different values clash).
   */
  claims4: 'claims4',
  claims6: 'claims6',
} as const;

/** Claim value: the port is published on every address of the family. */
export const NFT_CLAIM_ANY = '1';
/** Claim value: the port is published on one or more single addresses. */
export const NFT_CLAIM_ADDRESS = '2';

/** Routing through loopback: the bridge must accept 127.0.0.0/8 sources for localhost → container DNAT. */
// Slash-separated: a bridge name may contain dots.
export const SYSCTL_ROUTE_LOCALNET = (bridge: string) => `net/ipv4/conf/${bridge}/route_localnet`;
/** IPv4 forwarding, needed for any bridge network with outside connectivity or isolation. */
export const SYSCTL_IP_FORWARD = 'net.ipv4.ip_forward';
/** IPv6 forwarding, set when a network has an IPv6 subnet. */
export const SYSCTL_IP6_FORWARD = 'net.ipv6.conf.all.forwarding';
/** Bridged IPv4 traffic through iptables/nft FORWARD: without it enable_icc=false cannot be enforced. */
export const SYSCTL_BRIDGE_NF_IPT = 'net.bridge.bridge-nf-call-iptables';
/** Bridged IPv6 traffic through ip6tables/nft FORWARD. */
export const SYSCTL_BRIDGE_NF_IP6T = 'net.bridge.bridge-nf-call-ip6tables';

/** Where the Linux ephemeral port range is read from (random host ports come from it, as in Docker). */
export const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** The kernel's default ephemeral range, used when the file cannot be read. */
export const DEFAULT_EPHEMERAL_RANGE: readonly [number, number] = [32768, 60999];

/** Cross-process lock serialising firewall changes (CNI runtimes run ADDs in parallel). */
export const FIREWALL_LOCK = process.env.TSNET_FIREWALL_LOCK ?? '/run/tsnet/firewall.lock';

/**
 * Hairpin note for the bridge driver: with bridge-nf-call-iptables on (the kernel default), DNAT of
 * a container's own published port happens on the bridge path and the frame must leave by the port
 * it came in on, so the driver sets hairpin mode on the veth bridge port when ports are published
 * (Docker does the same with userland-proxy off). Measured on both backends: without it a container
 * cannot reach its own published port through the host address; with it, it can.
 */
export const BRIDGE_PORT_HAIRPIN = true;
