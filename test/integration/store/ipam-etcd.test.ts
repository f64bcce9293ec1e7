/** IPAM through the etcd backend: the cross-process allocation race against one real etcd. */
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../../helpers/etcd';
import { describeIpamConcurrency } from '../../unit/ipam/concurrency';
import { openSpec } from '../../unit/store/spec';

describe('ipam on etcd', () => {
  let server: EtcdServer;
  let n = 0;
  before(async function () {
    skipWithoutEtcd(this);
    server = await startEtcd();
  });
  after(async () => server?.dispose());
  describeIpamConcurrency('etcd', async () => openSpec({ backend: 'etcd', url: server.url(`ipam${++n}`) }));
});
