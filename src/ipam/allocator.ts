/**
 * The IPAM implementation over the store. Pools and addresses are plain keys under ipam/; every
 * reservation is a t.create(), which fails when the key exists in the transaction's snapshot, and the
 * store commits a transaction only if nothing it read changed since; so one address is never handed
 * out twice, whether the racers are processes on one SQLite file or hosts on one etcd (the loser's
 * transaction runs again and sees the winner's reservation).
 */
import { ConflictError, ExhaustedError, InvalidArgumentError, NotFoundError } from '../errors';
import { ipToBigInt } from '../kernel/addr';
import type { IpamPool } from '../model';
import type { Lease, StoreTxn } from '../store/store';
import type { AddressRequest, Ipam, PoolRecord, PoolRequest } from './ipam';
import { findOverlap, globalV4Candidates, type LocalPool, noDefaultPoolMessage, overlapMessage, relevantRoutes, v4Candidates, v6Candidates, type TakenSubnet } from './pools';
import {
  MAX_PREFIX, canonicalIp, edgeOf, familyName, inSubnet, ipOf, nextInRange, parseIp, parseSubnet, rangeSize,
  subnetWithin, toSubnet, usableRange, type Subnet,
} from './range';

/** Escapes an owner so it holds no "/" and every ipam/owner/<owner>/ prefix matches that owner only. */
const esc = (owner: string) => encodeURIComponent(owner);

/** The IPAM key layout. Pool ids hold no "/", so each prefix below selects exactly one pool or owner. */
export const ipamKeys = {
  pools: 'ipam/pool/',
  pool: (poolId: string) => `ipam/pool/${poolId}`,
  addrs: (poolId: string) => `ipam/addr/${poolId}/`,
  addr: (poolId: string, ip: string) => `ipam/addr/${poolId}/${ip}`,
  last: (poolId: string) => `ipam/last/${poolId}`,
  // Index by owner so releaseOwner (CNI DEL) never scans every address of every pool.
  owner: (owner: string) => `ipam/owner/${esc(owner)}/`,
  ownerAddr: (owner: string, poolId: string, ip: string) => `ipam/owner/${esc(owner)}/${poolId}/${ip}`,
} as const;

/** Who holds an address: an endpoint's interface, or the pool itself (gateway, aux). */
export interface AddrRecord {
  owner: string;
  ifname: string;
  kind: 'endpoint' | 'gateway' | 'aux';
}

/** Owner recorded on the gateway's reservation. */
export const GATEWAY_OWNER = 'gateway';
/** Owner recorded on aux reservations (ifname holds the aux name). */
export const AUX_OWNER = 'aux';

/** A pool request parsed and checked in full, before any read or write. */
interface ValidPool {
  family: 4 | 6;
  subnet?: Subnet;
  ipRange?: Subnet;
  gateway?: string;
  aux: [name: string, ip: string][];
  defaultPool?: Subnet;
  /** Draw default pools from the cluster's (global) list. */
  global?: boolean;
}

/** Checks every field of the request on its own and against the subnet; throws InvalidArgument. */
function validatePoolRequest(req: PoolRequest): ValidPool {
  if (!req.owner) throw new InvalidArgumentError(`ipam pool for network "${req.ownerName}": owner id is required`);
  const subnet = req.subnet === undefined ? undefined : checkSize(parseSubnet(req.subnet, 'subnet'), 'subnet');
  const defaultPool = req.defaultPool === undefined ? undefined : checkSize(parseSubnet(req.defaultPool, 'default pool'), 'default pool');
  const fam = subnet?.family ?? (req.v6 ? 6 : 4);
  if (defaultPool && !subnet && defaultPool.family !== fam) {
    throw new InvalidArgumentError(`default pool ${defaultPool.cidr} is not an ${familyName(fam)} subnet`);
  }
  if (!subnet) {
    for (const [field, given] of [['ip-range', req.ipRange], ['gateway', req.gateway]] as const) {
      if (given !== undefined) throw new InvalidArgumentError(`${field} ${given} requires a subnet`);
    }
    if (req.auxAddresses && Object.keys(req.auxAddresses).length) throw new InvalidArgumentError('aux addresses require a subnet');
    return { family: fam, aux: [], defaultPool, global: req.global };
  }
  const ipRange = req.ipRange === undefined ? undefined : checkIpRange(subnet, req.ipRange);
  const gateway = checkGateway(subnet, req);
  return { family: fam, subnet, ipRange, gateway, aux: checkAux(subnet, req.auxAddresses ?? {}, gateway), defaultPool };
}

/** Refuses subnets too small for a gateway and one host (v4 longer than /30, v6 than /126). */
function checkSize(s: Subnet, what: string): Subnet {
  if (s.prefix > MAX_PREFIX[s.family]) {
    throw new InvalidArgumentError(`invalid ${what} ${s.cidr}: too small for a gateway and one host (longest is /${MAX_PREFIX[s.family]})`);
  }
  return s;
}

function checkIpRange(subnet: Subnet, text: string): Subnet {
  const r = parseSubnet(text, 'ip-range');
  if (!subnetWithin(subnet, r)) throw new InvalidArgumentError(`ip-range ${r.cidr} is not in subnet ${subnet.cidr}`);
  if (rangeSize(usableRange(subnet, r)) === 0n) throw new InvalidArgumentError(`ip-range ${r.cidr} holds no usable address of subnet ${subnet.cidr}`);
  return r;
}

/**
 * An address that may be reserved in subnet: same family, inside, not the network or broadcast
 * address. what and label name it in errors ("gateway", "gateway 10.9.0.1"); returns the canonical text.
 */
function checkHostAddress(subnet: Subnet, text: string, what: string, label = `${what} ${text}`): string {
  const a = parseIp(text, what);
  if (a.family !== subnet.family || !inSubnet(subnet, a.value)) throw new InvalidArgumentError(`${label} is not in subnet ${subnet.cidr}`);
  const edge = edgeOf(subnet, a.value);
  if (edge) throw new InvalidArgumentError(`${label} is the ${edge} address of subnet ${subnet.cidr}`);
  return a.ip;
}

/** The gateway to reserve: the given one, else the first usable address, none for gateway-less drivers. */
function checkGateway(subnet: Subnet, req: PoolRequest): string | undefined {
  if (req.noGateway) {
    if (req.gateway !== undefined) throw new InvalidArgumentError(`gateway ${req.gateway}: the network's driver uses no gateway`);
    return undefined;
  }
  return req.gateway === undefined ? ipOf(subnet.family, subnet.base + 1n) : checkHostAddress(subnet, req.gateway, 'gateway');
}

function checkAux(subnet: Subnet, aux: Record<string, string>, gateway?: string): [string, string][] {
  const seen = new Map<string, string>();
  return Object.entries(aux).map(([name, text]) => {
    const what = `aux address ${name}=${text}`;
    const ip = checkHostAddress(subnet, text, `aux address ${name}`, what);
    if (ip === gateway) throw new InvalidArgumentError(`${what} is the gateway of subnet ${subnet.cidr}`);
    const other = seen.get(ip);
    if (other !== undefined) throw new InvalidArgumentError(`${what} is also aux address ${other}`);
    seen.set(ip, name);
    return [name, ip];
  });
}

/** The user subnet when it is free, else the first free default pool of the family. */
function chooseSubnet(v: ValidPool, owner: string, taken: TakenSubnet[], routes: Subnet[], pools?: readonly LocalPool[]): Subnet {
  if (v.subnet) {
    const o = findOverlap(v.subnet, taken, routes);
    if (o) throw new ConflictError(overlapMessage(v.subnet, o));
    return v.subnet;
  }
  const candidates = v.family === 4 ? (v.global ? globalV4Candidates() : v4Candidates(v.defaultPool, pools)) : v6Candidates(owner, v.defaultPool, v.global ? undefined : pools);
  for (const c of candidates) {
    const s = toSubnet(c);
    if (!findOverlap(s, taken, routes)) return s;
  }
  throw new ExhaustedError(noDefaultPoolMessage(v.family));
}

/** Deterministic and unique among live pools (subnets never overlap); holds no "/" for the key prefixes. */
function makePoolId(owner: string, subnet: Subnet): string {
  return `${esc(owner.slice(0, 12))}-${subnet.cidr.replace('/', '_')}`;
}

/** Reserves ip in the pool; false when it is already held by anyone. */
async function reserve(t: StoreTxn, poolId: string, ip: string, rec: AddrRecord, lease?: Lease): Promise<boolean> {
  // A cluster host's reservations share its lease: a host that dies frees its addresses with it.
  if (!(await t.create(ipamKeys.addr(poolId, ip), rec, { lease }))) return false;
  if (rec.kind === 'endpoint') t.put(ipamKeys.ownerAddr(rec.owner, poolId, ip), { ifname: rec.ifname }, { lease });
  return true;
}

/** Frees one endpoint address (of owner, when given); gateway and aux reservations live as long as the pool. */
async function free(t: StoreTxn, poolId: string, ip: string, owner?: string): Promise<boolean> {
  const rec = await t.get<AddrRecord>(ipamKeys.addr(poolId, ip));
  if (rec?.kind !== 'endpoint' || (owner !== undefined && rec.owner !== owner)) return false;
  await t.delete(ipamKeys.addr(poolId, ip));
  await t.delete(ipamKeys.ownerAddr(rec.owner, poolId, ip));
  return true;
}

async function loadPool(t: StoreTxn, poolId: string): Promise<PoolRecord> {
  const rec = await t.get<PoolRecord>(ipamKeys.pool(poolId));
  if (!rec) throw new NotFoundError(`ipam pool ${poolId}: not found`);
  return rec;
}

/** Builds the pool from the validated request and the chosen subnet. */
function buildPool(v: ValidPool, owner: string, subnet: Subnet, noGateway?: boolean): IpamPool {
  const pool: IpamPool = { poolId: makePoolId(owner, subnet), subnet: subnet.cidr };
  const gateway = noGateway ? undefined : (v.gateway ?? ipOf(subnet.family, subnet.base + 1n));
  if (gateway) pool.gateway = gateway;
  if (v.ipRange) pool.ipRange = v.ipRange.cidr;
  if (v.aux.length) pool.auxAddresses = Object.fromEntries(v.aux);
  return pool;
}

/** Stores the pool and reserves its gateway and aux addresses. */
async function persistPool(t: StoreTxn, rec: PoolRecord): Promise<void> {
  const { pool } = rec;
  if (!(await t.create(ipamKeys.pool(pool.poolId), rec))) throw new ConflictError(`ipam pool ${pool.poolId}: already exists`);
  const held: [string, AddrRecord][] = Object.entries(pool.auxAddresses ?? {}).map(([name, ip]) => [ip, { owner: AUX_OWNER, ifname: name, kind: 'aux' }]);
  if (pool.gateway) held.unshift([pool.gateway, { owner: GATEWAY_OWNER, ifname: '', kind: 'gateway' }]);
  for (const [ip, a] of held) {
    // Validation ruled out duplicates, so a failure here means stale keys: refuse rather than share.
    if (!(await reserve(t, pool.poolId, ip, a))) throw new ConflictError(`address ${ip} is already in use in network "${rec.ownerName}"`);
  }
}

/** Reserves the static address req.preferred: in the subnet, not an edge, not held. */
async function requestStatic(t: StoreTxn, rec: PoolRecord, req: AddressRequest & { preferred: string }): Promise<string> {
  const s = toSubnet(rec.pool.subnet);
  const where = `network "${rec.ownerName}" (${s.cidr})`;
  const a = parseIp(req.preferred, 'address');
  if (a.family !== s.family || !inSubnet(s, a.value)) throw new InvalidArgumentError(`address ${req.preferred} is not in ${where}`);
  const edge = edgeOf(s, a.value);
  if (edge) throw new InvalidArgumentError(`address ${req.preferred} is the ${edge} address of ${where}`);
  if (!(await reserve(t, rec.pool.poolId, a.ip, { owner: req.owner, ifname: req.ifname, kind: 'endpoint' }, req.lease))) {
    throw new ConflictError(`address ${a.ip} is already in use in network "${rec.ownerName}"`);
  }
  return `${a.ip}/${s.prefix}`;
}

/**
 * host-local's walk: start after the last reserved address, wrap, stop after one lap. Each probe is
 * one key lookup, so a request costs the run of taken addresses ahead of it, not the pool's size.
 */
async function requestNext(t: StoreTxn, rec: PoolRecord, req: AddressRequest): Promise<string> {
  const s = toSubnet(rec.pool.subnet);
  const { poolId } = rec.pool;
  const range = usableRange(s, rec.pool.ipRange ? toSubnet(rec.pool.ipRange) : undefined);
  const last = await t.get<string>(ipamKeys.last(poolId));
  let cur = last !== undefined ? nextInRange(range, ipToBigInt(last)) : range.first;
  for (let left = rangeSize(range); left > 0n; left--, cur = nextInRange(range, cur)) {
    const ip = ipOf(s.family, cur);
    // create() reads the key too, so a taken address costs one read, not two.
    if (!(await reserve(t, poolId, ip, { owner: req.owner, ifname: req.ifname, kind: 'endpoint' }, req.lease))) continue;
    t.put(ipamKeys.last(poolId), ip);
    return `${ip}/${s.prefix}`;
  }
  throw new ExhaustedError(`no available ${familyName(s.family)} address in network "${rec.ownerName}" (${s.cidr})`);
}

/** "ip" or "ip/len" to the canonical address. */
function bareIp(ip: string): string {
  const slash = ip.indexOf('/');
  return canonicalIp(slash < 0 ? ip : ip.slice(0, slash));
}

/** Creates the store-backed IPAM; it holds no state of its own, so one instance serves every caller. */
export function createIpam(opts: { localPools?: () => readonly LocalPool[] | undefined } = {}): Ipam {
  return {
    async requestPool(t, req, hostRoutes) {
      const v = validatePoolRequest(req);
      const routes = relevantRoutes(hostRoutes);
      const taken = (await this.pools(t)).map((p) => ({ subnet: p.pool.subnet, ownerName: p.ownerName }));
      const subnet = chooseSubnet(v, req.owner, taken, routes, opts.localPools?.());
      const rec: PoolRecord = { pool: buildPool(v, req.owner, subnet, req.noGateway), owner: req.owner, ownerName: req.ownerName };
      await persistPool(t, rec);
      return rec.pool;
    },
    async releasePool(t, poolId) {
      for (const { key, value } of await t.list<AddrRecord>(ipamKeys.addrs(poolId))) {
        if (value.kind === 'endpoint') await t.delete(ipamKeys.ownerAddr(value.owner, poolId, key.slice(ipamKeys.addrs(poolId).length)));
        await t.delete(key);
      }
      await t.delete(ipamKeys.last(poolId));
      await t.delete(ipamKeys.pool(poolId));
    },
    async requestAddress(t, poolId, req) {
      if (!req.owner) throw new InvalidArgumentError(`address in ipam pool ${poolId}: owner id is required`);
      const rec = await loadPool(t, poolId);
      return req.preferred !== undefined ? requestStatic(t, rec, { ...req, preferred: req.preferred }) : requestNext(t, rec, req);
    },
    async releaseAddress(t, poolId, ip) {
      await free(t, poolId, bareIp(ip));
    },
    async releaseOwner(t, owner, ifname) {
      const prefix = ipamKeys.owner(owner);
      let count = 0;
      for (const { key, value } of await t.list<{ ifname: string }>(prefix)) {
        if (ifname !== undefined && value.ifname !== ifname) continue;
        const rest = key.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (await free(t, rest.slice(0, slash), rest.slice(slash + 1), owner)) count++;
        else await t.delete(key); // a dangling index entry: drop it so it is not found again
      }
      return count;
    },
    async pools(t) {
      return (await t.list<PoolRecord>(ipamKeys.pools)).map((e) => e.value);
    },
  };
}
