/**
 * What the CNI integration tests share: namespaces made with `ip netns add` (as a runtime makes
 * them), the plugin exec'd as a runtime does, and a cleanup that removes everything a test made,
 * kernel and store alike, even when the test failed halfway.
 */
import { execFileSync } from 'node:child_process';
import { containerRecords } from '../../../plugins/cni/attachments';
import { Controller } from '../../../src/index';
import { binDirs } from './plugin';
import { type CniEnv, execFile, findPlugin, type PluginRun } from './runtime';

/** A unique tag per test process, so names never clash with another run. */
export const RUN = process.pid.toString(36);

/** Namespaces and networks made by one test, removed by cleanup(). */
export class Scratch {
  private readonly namespaces: string[] = [];
  private readonly networks = new Set<string>();

  /** Creates a named namespace with `ip netns add`, as runtimes do; returns its path. */
  netns(name: string): string {
    execFileSync('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return `/run/netns/${name}`;
  }

  /** Removes a namespace now (the "runtime deleted it before DEL" case); cleanup skips it. */
  dropNetns(name: string): void {
    execFileSync('ip', ['netns', 'del', name]);
    this.namespaces.splice(this.namespaces.indexOf(name), 1);
  }

  /** Remembers a tsnet network to remove at cleanup. */
  network(name: string): string {
    this.networks.add(name);
    return name;
  }

  /** Removes every CNI sandbox and record, then the networks, then the namespaces; never throws. */
  async cleanup(): Promise<void> {
    const c = await Controller.open({ readOnly: true });
    try {
      const records = containerRecords(c);
      // Containers named by the runtime (K8S_POD_NAME) have sandboxes of any name: follow the records.
      const recorded = new Set((await records.list()).flatMap(({ value }) => [value.sandboxId, value.sandboxName]));
      for (const sb of (await c.listSandboxes()).filter((s) => s.name.startsWith('cni-') || recorded.has(s.id) || recorded.has(s.name))) await c.deleteSandbox(sb.id).catch(() => undefined);
      for (const { id } of await records.list()) await records.delete(id);
      for (const net of this.networks) await c.deleteNetwork(net).catch(() => undefined);
    } finally {
      await c.close();
    }
    this.networks.clear();
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
}

/** Execs tsnet-cni once with the given command, attachment and config (env overrides allowed). */
export async function cni(command: string, conf: object | string, att: { containerId?: string; netns?: string; ifname?: string; args?: string } = {}, extra: CniEnv['extra'] = {}): Promise<PluginRun> {
  const dirs = await binDirs();
  const env: CniEnv = { command, containerId: att.containerId, netns: att.netns, ifname: att.ifname ?? 'eth0', args: att.args, extra };
  return execFile(findPlugin('tsnet-cni', dirs), env, conf, dirs);
}

/** Runs ip(8) inside a namespace and returns its stdout. */
export function ipIn(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', netns, ...args], { encoding: 'utf8' });
}

/** The A records of name from the embedded resolver at 127.0.0.11 inside namespace nsName, sorted. */
export function lookup(nsName: string, name: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', nsName, 'dig', '+short', '+time=2', '+tries=2', '@127.0.0.11', name, 'A'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).sort();
}
