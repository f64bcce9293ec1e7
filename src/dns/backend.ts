/**
 * DnsBackend: what the embedded resolver asks about names (libnetwork's DNSBackend with aardvark's
 * requester scope). The transport (server.ts) holds no record logic; records.ts implements this.
 */

/**
 * Who is asking. A listener inside a sandbox's namespace knows the sandbox for certain, so it asks
 * by `sandboxId`; that survives address changes and overlapping subnets. A listener shared by many
 * sandboxes (e.g. on a bridge gateway, as aardvark-dns) only sees the source address, so it asks by `ip`.
 */
export type Requester = { readonly sandboxId: string } | { readonly ip: string };

/** The answer to a name lookup. */
export interface LookupResult {
  /** Addresses of the asked family, each target's address on the network it shares with the requester. */
  ips: string[];
  /** True when the name is known on a shared network, even without an address of this family (answer NOERROR, never forward). */
  authoritative: boolean;
}

/** Name service for sandboxes, scoped to the networks a requester shares with its targets. */
export interface DnsBackend {
  /** Addresses of `name` (case-insensitive, trailing dot allowed) as seen by requester; the order rotates between calls. */
  lookup(requester: Requester, name: string, family: 4 | 6): LookupResult;
  /** Names of the sandbox holding `ip` on a network shared with requester (PTR answers); empty when unknown. */
  reverse(requester: Requester, ip: string): string[];
  /** Servers to forward unknown names to, "ip" or "ip:port" ("[v6]:port"), best first. */
  upstreams(requester: Requester): string[];
  /** True when the requester has no network with outside access: nothing it asks is forwarded. */
  isInternal(requester: Requester): boolean;
  /** Bumped on every change, so the transport can drop answers it cached. */
  readonly generation: number;
}

/** A stable string for a requester, usable as a cache or map key. */
export function requesterKey(requester: Requester): string {
  return 'sandboxId' in requester ? `s:${requester.sandboxId}` : `i:${requester.ip}`;
}
