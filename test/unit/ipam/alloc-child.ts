/**
 * Child process for the cross-process test: opens the shared sqlite state dir, waits for "go" so all
 * children race at once, allocates `count` addresses one transaction each, and sends them back.
 * argv: stateDir poolId ownerPrefix count
 */
import { createIpam } from '../../../src/ipam/allocator';
import { openSqliteStore } from '../../../src/store/sqlite';

function main(): void {
  const [stateDir, poolId, ownerPrefix, count] = process.argv.slice(2);
  const store = openSqliteStore(stateDir);
  const ipam = createIpam();
  process.once('message', () => {
    const ips: string[] = [];
    try {
      for (let i = 0; i < Number(count); i++) {
        ips.push(store.txn((t) => ipam.requestAddress(t, poolId, { owner: `${ownerPrefix}-${i}`, ifname: 'eth0' })));
      }
      process.send!({ ips });
    } catch (err) {
      process.send!({ error: String(err), ips });
    } finally {
      store.close();
      process.disconnect();
    }
  });
  process.send!({ ready: true });
}

main();
