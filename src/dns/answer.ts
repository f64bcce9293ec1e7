/**
 * Deciding what to do with a question (answer from the records, forward, or refuse) and caching
 * that decision with its encoded records per requester, until the backend changes.
 */
import type { DnsBackend, Requester } from './backend';
import { CACHE_SCOPE_LIMIT, CACHE_SCOPES_LIMIT, QCLASS, QTYPE, RCODE, RESPONSE_TTL } from './constants';
import { addressRecord, ptrRecord } from './response';
import { reverseNameToIp, wireNameToText } from './wire';

/** The records answer it: rcode and encoded records (rotated through by `next`). */
export interface LocalDecision {
  readonly kind: 'local';
  readonly rcode: number;
  readonly records: readonly Buffer[];
  /** Where the next answer starts, so same-named sandboxes take turns. */
  next: number;
}

/** Unknown here: ask these upstream servers. */
export interface ForwardDecision {
  readonly kind: 'forward';
  readonly upstreams: readonly string[];
}

/** Answer with this rcode and nothing else (REFUSED for other classes, SERVFAIL when nothing may be forwarded). */
export interface FailDecision {
  readonly kind: 'fail';
  readonly rcode: number;
}

/** What the resolver does with one (requester, name, type, class). */
export type Decision = LocalDecision | ForwardDecision | FailDecision;

/** Decides for one question; wireName is the lowercased wire form of the name. */
export function decide(backend: DnsBackend, requester: Requester, wireName: string, qtype: number, qclass: number): Decision {
  if (qclass !== QCLASS.IN && qclass !== QCLASS.ANY) return { kind: 'fail', rcode: RCODE.REFUSED };
  const name = wireNameToText(wireName);
  if (name) {
    // A PTR for a sandbox name (not a reverse name) is a known name without that type: NOERROR, empty.
    const local = (qtype === QTYPE.PTR ? decidePtr(backend, requester, name) : undefined) ?? decideName(backend, requester, name, qtype);
    if (local) return local;
  }
  // Docker answers SERVFAIL when the sandbox may not reach outside (internal networks only).
  if (backend.isInternal(requester)) return { kind: 'fail', rcode: RCODE.SERVFAIL };
  const upstreams = backend.upstreams(requester);
  if (upstreams.length === 0) return { kind: 'fail', rcode: RCODE.SERVFAIL };
  return { kind: 'forward', upstreams };
}

/** A/AAAA/ANY from the records; any other type of a known name is NOERROR and empty (never leaked upstream). */
function decideName(backend: DnsBackend, requester: Requester, name: string, qtype: number): LocalDecision | undefined {
  const v4 = backend.lookup(requester, name, 4);
  const v6 = backend.lookup(requester, name, 6);
  if (!v4.authoritative && !v6.authoritative) return undefined;
  const ips: string[] = [];
  if (qtype === QTYPE.A || qtype === QTYPE.ANY) ips.push(...v4.ips);
  if (qtype === QTYPE.AAAA || qtype === QTYPE.ANY) ips.push(...v6.ips);
  return { kind: 'local', rcode: RCODE.NOERROR, records: ips.map((ip) => addressRecord(ip, RESPONSE_TTL)), next: 0 };
}

/** PTR for sandbox addresses; other reverse names go upstream. */
function decidePtr(backend: DnsBackend, requester: Requester, name: string): LocalDecision | undefined {
  const ip = reverseNameToIp(name);
  const names = ip ? backend.reverse(requester, ip) : [];
  if (names.length === 0) return undefined;
  return { kind: 'local', rcode: RCODE.NOERROR, records: names.map((n) => ptrRecord(n, RESPONSE_TTL)), next: 0 };
}

/**
 * Decisions per requester scope and question, dropped whole when the backend's generation moves.
 * A scope that fills up is emptied rather than evicted entry by entry: cheap, and random-name
 * floods cannot grow memory.
 */
export class DecisionCache {
  private readonly scopes = new Map<string, Map<string, Decision>>();
  private generation = -1;

  constructor(private readonly backend: DnsBackend) {}

  /** The decision for the question, from the cache or freshly made. */
  get(scopeKey: string, requester: Requester, wireName: string, qtype: number, qclass: number): Decision {
    if (this.backend.generation !== this.generation) {
      this.scopes.clear();
      this.generation = this.backend.generation;
    }
    let scope = this.scopes.get(scopeKey);
    if (!scope) {
      // Source-address scopes come and go with clients: bound their number as well.
      if (this.scopes.size >= CACHE_SCOPES_LIMIT) this.scopes.clear();
      this.scopes.set(scopeKey, (scope = new Map()));
    }
    // qclass other than IN is rare and always refused; folding it into the key keeps that exact.
    const key = qclass === QCLASS.IN ? wireName + qtype : `${wireName}${qtype}/${qclass}`;
    let d = scope.get(key);
    if (d === undefined) {
      if (scope.size >= CACHE_SCOPE_LIMIT) scope.clear();
      d = decide(this.backend, requester, wireName, qtype, qclass);
      scope.set(key, d);
    }
    return d;
  }

  /** Forgets a scope (its listener went away). */
  forget(scopeKey: string): void {
    this.scopes.delete(scopeKey);
  }
}
