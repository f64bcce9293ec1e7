/** The cluster store a host is configured with (daemon.json's cluster-store): opened only where one is configured. */
import type { DaemonConfig } from '../config';
import type { Store } from '../store/store';

/** Opens the configured cluster store, or undefined when none is configured (etcd3 is then never loaded). */
export async function openConfiguredClusterStore(config: DaemonConfig): Promise<Store | undefined> {
  const url = config['cluster-store'];
  if (!url) return undefined;
  // Loaded here, not at the top: a host without a cluster store never pays for the etcd client.
  const { openClusterStore } = await import('../store/etcd');
  return openClusterStore(url, config['cluster-store-opts'] ?? {});
}
