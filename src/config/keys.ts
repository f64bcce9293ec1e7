/**
 * The daemon.json keys tsnet implements, with Docker's meaning: how each value is parsed, what it
 * shapes (the default bridge only, as in Docker, or every network, or the daemon), and whether a
 * running daemon takes it on SIGHUP or needs a restart.
 */
import * as v from './values';

/** What a key shapes. */
export type Reach = 'default bridge' | 'every network' | 'daemon';

/** One key of the table. */
export interface KeySpec {
  parse: v.Parse<unknown>;
  reach: Reach;
  /** Taken by a running daemon on SIGHUP, or only at its next start. */
  reload: 'sighup' | 'restart';
}

const IFNAME = /^[a-zA-Z0-9_.-]{1,15}$/;

/** Every daemon.json key tsnet reads. */
export const TSNET_KEYS = {
  bip: { parse: v.bip, reach: 'default bridge', reload: 'restart' },
  'fixed-cidr': { parse: v.cidr(4, '172.17.1.0/24'), reach: 'default bridge', reload: 'restart' },
  'fixed-cidr-v6': { parse: v.cidr(6, '2001:db8::/64'), reach: 'default bridge', reload: 'restart' },
  ipv6: { parse: v.bool, reach: 'default bridge', reload: 'restart' },
  'default-gateway': { parse: v.ip(4), reach: 'default bridge', reload: 'restart' },
  'default-gateway-v6': { parse: v.ip(6), reach: 'default bridge', reload: 'restart' },
  mtu: { parse: v.integer(68, 65535, [0]), reach: 'default bridge', reload: 'restart' },
  icc: { parse: v.bool, reach: 'default bridge', reload: 'restart' },
  'ip-masq': { parse: v.bool, reach: 'default bridge', reload: 'restart' },
  bridge: { parse: v.matching(IFNAME, 'an interface name (1 to 15 of [a-zA-Z0-9_.-]) or "none"'), reach: 'default bridge', reload: 'restart' },
  dns: { parse: v.list(v.ip(), 'IP addresses', 'an IP address'), reach: 'every network', reload: 'sighup' },
  'dns-search': { parse: v.list(v.searchDomain, 'domain names', 'a domain name'), reach: 'every network', reload: 'sighup' },
  'dns-opts': { parse: v.list(v.resolverOption, 'resolver options', 'a resolver option such as ndots:2'), reach: 'every network', reload: 'sighup' },
  ip: { parse: v.ip(), reach: 'every network', reload: 'restart' },
  'default-address-pools': { parse: v.addressPools, reach: 'every network', reload: 'sighup' },
  'ip-forward': { parse: v.bool, reach: 'every network', reload: 'sighup' },
  iptables: { parse: v.bool, reach: 'every network', reload: 'sighup' },
  ip6tables: { parse: v.bool, reach: 'every network', reload: 'sighup' },
  'userland-proxy': { parse: v.bool, reach: 'every network', reload: 'sighup' },
  'firewall-backend': { parse: v.oneOf('iptables', 'nftables'), reach: 'every network', reload: 'restart' },
  'cluster-store': { parse: v.matching(/^etcd:\/\/[^/,]+(,[^/,]+)*(\/.*)?$/, 'an etcd URL, etcd://host:port[,host:port…][/prefix]'), reach: 'daemon', reload: 'restart' },
  'cluster-advertise': { parse: v.text, reach: 'daemon', reload: 'restart' },
  'cluster-store-opts': { parse: v.stringMap(['kv.cacertfile', 'kv.certfile', 'kv.keyfile', 'discovery.ttl', 'discovery.heartbeat']), reach: 'daemon', reload: 'restart' },
  'data-path-port': { parse: v.integer(1024, 49151), reach: 'daemon', reload: 'restart' },
} satisfies Record<string, KeySpec>;

/** A key tsnet reads. */
export type TsnetKey = keyof typeof TSNET_KEYS;

/** Whether key is one tsnet reads. */
export function isTsnetKey(key: string): key is TsnetKey {
  return Object.prototype.hasOwnProperty.call(TSNET_KEYS, key);
}

/** The keys whose change a running daemon takes on SIGHUP. */
export const RELOADABLE_KEYS: readonly TsnetKey[] = (Object.keys(TSNET_KEYS) as TsnetKey[]).filter((k) => TSNET_KEYS[k].reload === 'sighup');

/** Validated daemon configuration: the keys tsnet reads, typed. */
export type DaemonConfig = { -readonly [K in TsnetKey]?: ReturnType<(typeof TSNET_KEYS)[K]['parse']> };
