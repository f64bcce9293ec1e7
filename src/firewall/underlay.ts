/**
 * The overlay's underlay guard: VXLAN packets (UDP to the data-path port) are accepted only from
 * cluster members, so nobody else on the underlay can inject frames into an overlay network. One
 * atomic batch per change of the member list, in a table (nftables) or chain (iptables) of its own,
 * removed when the host leaves the cluster.
 */
import { run } from '../kernel/exec';
import type { BackendName } from './firewall';
import type { Exec } from './backend';

/** nftables table and iptables chain of the guard. */
export const UNDERLAY_TABLE = 'tsnet_underlay';
export const UNDERLAY_CHAIN = 'TSNET-UNDERLAY';

/** The nft batch: replaces the table whole (delete then add in one transaction), members in a set. */
export function renderNftUnderlay(port: number, members: string[]): string {
  const elements = members.length ? ` elements = { ${members.join(', ')} }` : '';
  return [
    `table inet ${UNDERLAY_TABLE} {}`,
    `delete table inet ${UNDERLAY_TABLE}`,
    `table inet ${UNDERLAY_TABLE} {`,
    `  set members { type ipv4_addr;${elements} }`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    `    udp dport ${port} ip saddr != @members counter drop`,
    `    udp dport ${port} meta nfproto ipv6 counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The iptables-restore batch (with --noflush): the chain re-filled, members returned, everything else dropped. */
export function renderIptablesUnderlay(port: number, members: string[]): string {
  return [
    '*filter',
    `:${UNDERLAY_CHAIN} - [0:0]`,
    `-F ${UNDERLAY_CHAIN}`,
    ...members.map((ip) => `-A ${UNDERLAY_CHAIN} -s ${ip}/32 -j RETURN`),
    `-A ${UNDERLAY_CHAIN} -j DROP`,
    'COMMIT',
    '',
  ].join('\n');
}

/** Applies or removes the guard with one backend. */
export class UnderlayGuard {
  constructor(private readonly backend: BackendName, private readonly exec: Exec = run) {}

  /** Accepts VXLAN on port only from members (the host's own address included by the caller). */
  async apply(port: number, members: string[]): Promise<void> {
    if (this.backend === 'nftables') {
      await this.exec('nft', ['-f', '-'], { input: renderNftUnderlay(port, members) });
      return;
    }
    await this.exec('iptables-restore', ['--noflush', '-w'], { input: renderIptablesUnderlay(port, members) });
    const jump = ['-p', 'udp', '--dport', String(port), '-j', UNDERLAY_CHAIN];
    // The jump from INPUT is added once: -C fails when it is missing.
    await this.exec('iptables', ['-w', '-C', 'INPUT', ...jump]).catch(() => this.exec('iptables', ['-w', '-I', 'INPUT', '1', ...jump]));
  }

  /** Removes the guard (the host left the cluster); missing pieces count as removed. */
  async remove(port: number): Promise<void> {
    if (this.backend === 'nftables') {
      await this.exec('nft', ['-f', '-'], { input: `table inet ${UNDERLAY_TABLE} {}\ndelete table inet ${UNDERLAY_TABLE}\n` });
      return;
    }
    await this.exec('iptables', ['-w', '-D', 'INPUT', '-p', 'udp', '--dport', String(port), '-j', UNDERLAY_CHAIN]).catch(() => undefined);
    await this.exec('iptables', ['-w', '-F', UNDERLAY_CHAIN]).catch(() => undefined);
    await this.exec('iptables', ['-w', '-X', UNDERLAY_CHAIN]).catch(() => undefined);
  }
}
