/** Throwaway namespaces for kernel tests (as CNI's testutils.NewNS), each with an open handle and fd; cleanup removes all. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { NetlinkHandle } from '../../src/kernel/netlink';
import { createNetns, deleteNetns, netnsPath } from '../../src/kernel/netns';

/** A namespace made for one test. */
export interface TestNs {
  path: string;
  h: NetlinkHandle;
  /** An open descriptor of the namespace, for IFLA_NET_NS_FD. */
  fd: number;
}

/** Makes namespaces and removes them (and so every link inside) in cleanup, even after a failure. */
export class TestNamespaces {
  private made: TestNs[] = [];

  constructor(private readonly prefix: string) {}

  /** A new namespace named prefix-tag with loopback up. */
  async create(tag: string): Promise<TestNs> {
    const path = netnsPath(`${this.prefix}-${tag}`);
    createNetns(path);
    const ns = { path, h: NetlinkHandle.open(path), fd: fs.openSync(path, 'r') };
    this.made.push(ns);
    await ns.h.setUp((await ns.h.mustGetLink('lo')).index);
    return ns;
  }

  /** Closes every handle and fd and deletes every namespace made so far. */
  cleanup(): void {
    for (const ns of this.made.splice(0)) {
      ns.h.close();
      fs.closeSync(ns.fd);
      deleteNetns(ns.path);
    }
  }
}

/** Whether /proc/config.gz sets option (CONFIG_…) to y or m; undefined when the kernel does not expose its config. */
export function kernelHas(option: string): boolean | undefined {
  let text: string;
  try {
    text = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
  } catch {
    return undefined;
  }
  return new RegExp(`^${option}=[ym]$`, 'm').test(text);
}

/** `ip -d -j link show dev name` inside the namespace at nsPath: the kernel's view through iproute2. */
export function ipLink(nsPath: string, name: string): Record<string, any> {
  const out = execFileSync('nsenter', [`--net=${nsPath}`, '--', 'ip', '-d', '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  return JSON.parse(out)[0];
}
