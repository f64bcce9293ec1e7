/**
 * Docker's cluster-store address, `etcd://10.0.0.1:2379,10.0.0.2:2379[/prefix]`, and its TLS options
 * (`kv.cacertfile`, `kv.certfile`, `kv.keyfile`, as `--cluster-store-opt`), parsed and checked before
 * any connection is made.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors';

/** The key prefix when the address names none. */
export const DEFAULT_PREFIX = 'tsnet';

/** Cluster-store option keys (Docker's --cluster-store-opt names). */
export const KV_OPTS = { cacert: 'kv.cacertfile', cert: 'kv.certfile', key: 'kv.keyfile' } as const;

/** A parsed cluster-store address. */
export interface ClusterAddress {
  /** host:port of every member, in the given order. */
  hosts: string[];
  /** Key prefix without slashes at either end: every key of the store lives under `<prefix>/`. */
  prefix: string;
  /** The address without the prefix, as error messages name it: "etcd://10.0.0.1:2379,10.0.0.2:2379". */
  endpoint: string;
}

/** TLS material read from the kv.* option files. */
export interface ClusterTls {
  /** The CA bundle; undefined means the system's. */
  rootCertificate?: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
}

/** Parses `etcd://host:port[,host:port…][/prefix]`; throws InvalidArgument naming what is wrong. */
export function parseClusterUrl(url: string): ClusterAddress {
  const m = /^etcd:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!m) throw new InvalidArgumentError(`cluster store ${url}: expected etcd://host:port[,host:port…][/prefix]`);
  const hosts = m[1].split(',');
  for (const h of hosts) {
    if (!validHost(h)) throw new InvalidArgumentError(`cluster store ${url}: "${h}" is not host:port`);
  }
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '') || DEFAULT_PREFIX;
  return { hosts, prefix, endpoint: `etcd://${hosts.join(',')}` };
}

/** host:port with a name, an IPv4 address or a bracketed IPv6 address, and a port in 1–65535. */
function validHost(h: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(h);
  return !!m && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/**
 * Reads the TLS files named by the kv.* options; undefined when none is given (plain gRPC). Without
 * kv.cacertfile the system's CAs verify the server; a client certificate needs its key.
 */
export function readClusterTls(opts: Record<string, string>): ClusterTls | undefined {
  const known = new Set<string>(Object.values(KV_OPTS));
  for (const k of Object.keys(opts)) {
    if (k.startsWith('kv.') && !known.has(k)) throw new InvalidArgumentError(`cluster store option ${k}: unknown (known: ${[...known].join(', ')})`);
  }
  const { [KV_OPTS.cacert]: ca, [KV_OPTS.cert]: cert, [KV_OPTS.key]: key } = opts;
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new InvalidArgumentError(`cluster store options ${KV_OPTS.cert} and ${KV_OPTS.key} go together`);
  }
  const tls: ClusterTls = { rootCertificate: ca === undefined ? undefined : readOpt(KV_OPTS.cacert, ca) };
  if (cert !== undefined && key !== undefined) Object.assign(tls, { certChain: readOpt(KV_OPTS.cert, cert), privateKey: readOpt(KV_OPTS.key, key) });
  return tls;
}

function readOpt(name: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`cluster store option ${name}=${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
