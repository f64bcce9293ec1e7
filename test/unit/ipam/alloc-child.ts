/**
 * Child process of the IPAM race: opens the store the spec names, waits for go so all children race
 * at once, allocates `count` addresses one transaction each, and sends them back.
 * argv: JSON StoreSpec, poolId, ownerPrefix, count
 */
import { createIpam } from '../../../src/ipam/allocator';
import { childMain } from '../store/fork';
import { openSpec, type StoreSpec } from '../store/spec';

function main(): void {
  const [spec, poolId, ownerPrefix, count] = process.argv.slice(2);
  const store = openSpec(JSON.parse(spec) as StoreSpec);
  const ipam = createIpam();
  childMain(async () => {
    const ips: string[] = [];
    for (let i = 0; i < Number(count); i++) {
      ips.push(await store.txn((t) => ipam.requestAddress(t, poolId, { owner: `${ownerPrefix}-${i}`, ifname: 'eth0' })));
    }
    return ips;
  }, () => store.close());
}

main();
