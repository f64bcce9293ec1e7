/** Snapshots of what exists in the (private) host, to prove a test left nothing behind. */
import * as fs from 'node:fs';
import { NetlinkHandle } from '../../src/kernel/netlink';
import { NETNS_RUN_DIR } from '../../src/kernel/netns';

/** Links with their addresses, and named namespaces. */
export interface KernelSnapshot {
  links: string[];
  addrs: string[];
  netns: string[];
}

/** Reads links, addresses and namespaces of the current host. */
export async function snapshot(): Promise<KernelSnapshot> {
  const h = NetlinkHandle.open();
  try {
    const links = (await h.listLinks()).map((l) => l.name).sort();
    const addrs = (await h.listAddrs()).filter((a) => !a.cidr.startsWith('fe80:')).map((a) => `${a.index}:${a.cidr}`).sort();
    const netns = fs.existsSync(NETNS_RUN_DIR) ? fs.readdirSync(NETNS_RUN_DIR).sort() : [];
    return { links, addrs, netns };
  } finally {
    h.close();
  }
}
