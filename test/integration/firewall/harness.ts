/** Per-backend helpers for the firewall integration tests: ruleset dumps, a host firewall to keep, hard reset. */
import { createBackend, type BackendName, type FirewallNetwork } from '../../../src/firewall/firewall';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sh } from './topology';

/** Every scenario runs once per backend. */
export const BACKENDS: BackendName[] = ['iptables', 'nftables'];

/** The backend's ruleset listing with counters and timestamps normalised away. */
export async function dump(backend: BackendName): Promise<string> {
  const text = backend === 'nftables'
    ? await sh('nft', 'list', 'ruleset')
    : (await sh('iptables-save')) + (await sh('ip6tables-save'));
  return text.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '[0:0]').replace(/counter packets \d+ bytes \d+/g, 'counter');
}

/** A host with a firewall of its own, which tsnet must leave exactly as it found it. */
export async function seedHostFirewall(backend: BackendName): Promise<void> {
  if (backend === 'nftables') {
    await sh('nft', 'add', 'table', 'inet', 'hostfw');
    await sh('nft', 'add', 'chain', 'inet', 'hostfw', 'input', '{ type filter hook input priority 0; policy accept; }');
    await sh('nft', 'add', 'rule', 'inet', 'hostfw', 'input', 'ip', 'saddr', '203.0.113.9', 'drop');
    return;
  }
  for (const [tool, src] of [['iptables', '203.0.113.9'], ['ip6tables', '2001:db8:ffff::9']]) {
    await sh(tool, '-A', 'INPUT', '-s', src, '-j', 'DROP');
    await sh(tool, '-A', 'FORWARD', '-s', src, '-j', 'DROP');
    await sh(tool, '-t', 'nat', '-A', 'POSTROUTING', '-s', src, '-j', 'RETURN');
  }
}

/** Removes the seeded host firewall. */
export async function unseedHostFirewall(backend: BackendName): Promise<void> {
  if (backend === 'nftables') {
    await sh('nft', 'delete', 'table', 'inet', 'hostfw').catch(() => undefined);
    return;
  }
  for (const [tool, src] of [['iptables', '203.0.113.9'], ['ip6tables', '2001:db8:ffff::9']]) {
    await sh(tool, '-D', 'INPUT', '-s', src, '-j', 'DROP').catch(() => undefined);
    await sh(tool, '-D', 'FORWARD', '-s', src, '-j', 'DROP').catch(() => undefined);
    await sh(tool, '-t', 'nat', '-D', 'POSTROUTING', '-s', src, '-j', 'RETURN').catch(() => undefined);
  }
}

/** Removes whatever tsnet state a failed test left, so the next starts clean. */
export async function hardReset(backend: BackendName): Promise<void> {
  // These tests drive the firewall directly: a tsnet daemon left by earlier tests in this private
  // host would re-apply its networks' rules (it repairs flushed rules) under their feet.
  stopDaemon();
  // A test may have played the operator; full teardown keeps a filled TSNET-USER by design.
  if (backend === 'nftables') await sh('nft', 'flush', 'chain', 'inet', 'tsnet', 'TSNET-USER').catch(() => undefined);
  else for (const tool of ['iptables', 'ip6tables']) await sh(tool, '-F', 'TSNET-USER').catch(() => undefined);
  await createBackend(backend).remove('test reset', { base: true, networks: [], ports: [] }).catch(() => undefined);
}

/** Whether a probe result means the port was not reached (dropped, or refused by the host itself). */
export function unreached(result: string): boolean {
  return result === 'timeout' || result.startsWith('error:');
}

/** A network description with Docker's defaults. */
export function network(id: string, bridge: string, subnets: string[], extra: Partial<FirewallNetwork> = {}): FirewallNetwork {
  return { id, name: id, bridge, subnets, internal: false, masquerade: true, icc: true, ...extra };
}

/** Stops the tsnet daemon of this private host's state directory, if one runs (later commands start it again). */
export function stopDaemon(): void {
  const pidFile = path.join(process.env.TSNET_STATE_DIR ?? '/var/lib/tsnet', 'daemon.pid');
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && fs.existsSync(pidFile); i++) spawnSync('sleep', ['0.05']);
}
