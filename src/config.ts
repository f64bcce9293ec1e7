/** Daemon configuration (Docker daemon.json's networking keys) and where tsnet keeps its state. */
import * as fs from 'node:fs';
import { daemonConfigValidator } from './config-validator';
import { InvalidArgumentError } from './errors';
import { family, splitCidr } from './kernel/addr';

/** Validated daemon configuration. */
export interface DaemonConfig {
  bip?: string;
  mtu?: number;
  'default-gateway'?: string;
  dns?: string[];
  'dns-search'?: string[];
  'dns-opts'?: string[];
  'firewall-backend'?: 'iptables' | 'nftables';
  ip?: string;
  /** Docker's cluster store URL: etcd://10.0.0.1:2379,10.0.0.2:2379[/prefix]; global-scope networks live there. */
  'cluster-store'?: string;
  /** This host's address (or interface[:port]) as the cluster sees it. */
  'cluster-advertise'?: string;
  /** kv.cacertfile, kv.certfile, kv.keyfile, discovery.ttl, discovery.heartbeat. */
  'cluster-store-opts'?: Record<string, string>;
  /** UDP port of the overlay's VXLAN data path (default 4789); one value for the whole cluster. */
  'data-path-port'?: number;
}

/** State directory: --state-dir, then TSNET_STATE_DIR, then /var/lib/tsnet. */
export function defaultStateDir(): string {
  return process.env.TSNET_STATE_DIR || '/var/lib/tsnet';
}

/** Config file path: TSNET_CONFIG, then /etc/tsnet/daemon.json. */
export function defaultConfigPath(): string {
  return process.env.TSNET_CONFIG || '/etc/tsnet/daemon.json';
}

/** Checks a parsed config object; throws InvalidArgument naming every problem. */
export function parseDaemonConfig(raw: unknown, source = 'daemon config'): DaemonConfig {
  const validate = daemonConfigValidator();
  if (!validate(raw)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new InvalidArgumentError(`${source}: ${why}`);
  }
  const cfg = raw as DaemonConfig;
  if (cfg.bip) {
    try {
      if (splitCidr(cfg.bip).family !== 4 || !cfg.bip.includes('/')) throw new Error();
    } catch {
      throw new InvalidArgumentError(`${source}: bip "${cfg.bip}" is not an IPv4 address with prefix length`);
    }
  }
  for (const ip of [...(cfg.dns ?? []), ...(cfg['default-gateway'] ? [cfg['default-gateway']] : []), ...(cfg.ip ? [cfg.ip] : [])]) {
    if (!family(ip)) throw new InvalidArgumentError(`${source}: "${ip}" is not an IP address`);
  }
  return cfg;
}

/** Reads the config file at path; a missing file is an empty config. */
export function loadDaemonConfig(path = defaultConfigPath()): DaemonConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new InvalidArgumentError(`daemon config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`daemon config ${path}: invalid JSON: ${(err as Error).message}`);
  }
  return parseDaemonConfig(raw, `daemon config ${path}`);
}
