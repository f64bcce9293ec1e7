/** Names and numbers of the embedded DNS resolver, in one place (Docker's resolver.go constants). */

/** Address the resolver listens on inside every sandbox, as Docker's embedded DNS. */
export const DNS_LISTEN_ADDRESS = '127.0.0.11';
/** Port the resolver listens on inside every sandbox. */
export const DNS_PORT = 53;
/** TTL of answers about sandboxes; Docker's respTTL. */
export const RESPONSE_TTL = 600;
/** Largest UDP answer for a client that sent no EDNS (RFC 1035). */
export const MAX_UDP_PLAIN = 512;
/** Largest UDP answer we send even when a client offers more (fragmentation above this is a liability). */
export const MAX_UDP_EDNS = 4096;
/** UDP payload size we advertise in our OPT record (the DNS flag day 2020 value). */
export const ADVERTISED_UDP_SIZE = 1232;
/** Largest DNS message over TCP (two-byte length prefix). */
export const MAX_TCP_MESSAGE = 65535;
/** Queries bigger than this are not handed to the full decoder: real queries are small, and big hostile ones cost CPU. */
export const MAX_SLOW_PATH_QUERY = 4096;
/** At most this many upstream servers are tried for one query (Docker's maxExtDNS). */
export const MAX_UPSTREAMS = 3;
/** Total time for forwarding one query across all upstreams; the client gets SERVFAIL after it. */
export const FORWARD_BUDGET_MS = 1800;
/** Shortest time given to one upstream attempt while the budget lasts. */
export const MIN_ATTEMPT_MS = 400;
/** Forwarded queries in flight at once; beyond it the client gets SERVFAIL at once (Docker's maxConcurrent). */
export const MAX_FORWARD_INFLIGHT = 1024;
/** A TCP client idle this long is disconnected. */
export const TCP_IDLE_MS = 10_000;
/** TCP clients connected at once, per listener. */
export const MAX_TCP_CONNECTIONS = 128;
/** Queries one TCP connection may have waiting for an answer. */
export const MAX_TCP_PIPELINE = 32;
/** Cached decisions per requester; the scope is emptied when it fills (random names must not grow memory). */
export const CACHE_SCOPE_LIMIT = 4096;
/** Requester scopes cached at once; all are dropped when it fills. */
export const CACHE_SCOPES_LIMIT = 4096;
/** Docker's fallback servers when the host has no usable nameserver. */
export const FALLBACK_NAMESERVERS_V4 = ['8.8.8.8', '8.8.4.4'];
/** Docker's IPv6 fallback servers, used when the sandbox has IPv6. */
export const FALLBACK_NAMESERVERS_V6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

/** Record types the resolver answers itself. */
export const QTYPE = { A: 1, PTR: 12, AAAA: 28, OPT: 41, ANY: 255 } as const;
/** Query classes: IN (and ANY, which we treat as IN). */
export const QCLASS = { IN: 1, ANY: 255 } as const;
/** Response codes (RFC 1035 §4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Network label: "false" keeps the embedded resolver off the network (podman's dns_enabled=false). */
export const DNS_ENABLED_LABEL = 'dev.tsnet.dns';
/** Network label: a domain its members also answer under ("srv.dns.podman", aardvark's search domain). */
export const DNS_DOMAIN_LABEL = 'dev.tsnet.dns.domain';
