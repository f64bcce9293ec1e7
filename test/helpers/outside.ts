/** An "outside world" for a private host: a namespace behind an uplink veth, never the machine's real network. */
import * as fs from 'node:fs';
import { NetlinkHandle } from '../../src/kernel/netlink';
import { createNetns, deleteNetns, netnsPath } from '../../src/kernel/netns';

/** The outside namespace and the addresses on both ends of its uplink. */
export interface Outside {
  key: string;
  hostIp: string;
  outsideIp: string;
  remove(): Promise<void>;
}

/** Creates namespace `out-<tag>` linked to the host by veth `up-<tag>`: host 198.51.100.1/24, outside .2 with a default route back. */
export async function createOutside(tag: string): Promise<Outside> {
  const key = netnsPath(`out-${tag}`);
  createNetns(key);
  const host = NetlinkHandle.open();
  const out = NetlinkHandle.open(key);
  const fd = fs.openSync(key, 'r');
  const uplink = `up-${tag}`.slice(0, 15);
  try {
    const link = await host.createVeth(uplink, 'eth0', { peerNetnsFd: fd });
    await host.addAddr(link.index, '198.51.100.1/24');
    await host.setUp(link.index);
    const eth0 = await out.mustGetLink('eth0');
    await out.addAddr(eth0.index, '198.51.100.2/24');
    await out.setUp(eth0.index);
    await out.setUp((await out.mustGetLink('lo')).index);
    await out.addRoute({ gateway: '198.51.100.1', oif: eth0.index });
  } finally {
    fs.closeSync(fd);
    host.close();
    out.close();
  }
  return {
    key, hostIp: '198.51.100.1', outsideIp: '198.51.100.2',
    async remove() {
      const h = NetlinkHandle.open();
      try {
        await h.deleteLink(uplink);
      } finally {
        h.close();
      }
      deleteNetns(key);
    },
  };
}
