/**
 * The daemon.json keys dockerd knows that belong to other parts of it (registries, logging, storage,
 * runtimes, TLS, swarm…): tsnet ignores them and says so, so one file serves both programs. A key
 * that is in neither this list nor tsnet's table is no daemon.json key at all and is refused, as
 * dockerd's findConfigurationConflicts does. Taken from dockerd's flags and named options (moby
 * daemon/command/config*.go, daemon/config/config.go, 20.10 through 28), flag spellings included:
 * dockerd accepts a flag's name as a key too.
 */
export const DOCKERD_OTHER_KEYS: ReadonlySet<string> = new Set([
  // Networking keys tsnet does not implement.
  'bip6', 'allow-direct-routing', 'bridge-accept-fwmark', 'default-network-opts', 'ip-forward-no-drop',
  'network-control-plane-mtu', 'network-diagnostic-port', 'host-gateway-ip', 'host-gateway-ips', 'userland-proxy-path',
  // Flag spellings of keys tsnet reads under their daemon.json names (dockerd's JSON decoding ignores them too).
  'dns-opt', 'default-address-pool',
  // Everything else dockerd has.
  'add-runtime', 'api-cors-header', 'authorization-plugin', 'authorization-plugins', 'builder', 'cdi-spec-dirs', 'cgroup-parent',
  'config-file', 'containerd', 'containerd-namespace', 'containerd-plugins-namespace', 'cpu-rt-period', 'cpu-rt-runtime',
  'cri-containerd', 'data-root', 'debug', 'default-cgroupns-mode', 'default-init', 'default-ipc-mode', 'default-runtime',
  'default-shm-size', 'default-stop-timeout', 'default-ulimit', 'default-ulimits', 'deprecated-key-path',
  'allow-nondistributable-artifacts', 'exec-opt', 'exec-opts', 'exec-root', 'experimental', 'features', 'graph', 'group', 'host', 'hosts',
  'http-proxy', 'https-proxy', 'no-proxy', 'proxies', 'init', 'init-path', 'insecure-registry', 'insecure-registries', 'label', 'labels',
  'live-restore', 'log-driver', 'log-format', 'log-level', 'log-opt', 'log-opts', 'max-concurrent-downloads', 'max-concurrent-uploads',
  'max-download-attempts', 'metrics-addr', 'min-api-version', 'no-new-privileges', 'node-generic-resource', 'node-generic-resources',
  'nri-opts', 'oom-score-adjust', 'pidfile', 'raw-logs', 'registry-mirror', 'registry-mirrors', 'resolv-conf', 'rootless', 'runtimes',
  'seccomp-profile', 'selinux-enabled', 'shutdown-timeout', 'storage-driver', 'storage-opt', 'storage-opts',
  'swarm-default-advertise-addr', 'swarm-raft-heartbeat-tick', 'swarm-raft-election-tick', 'tls', 'tlscacert', 'tlscert', 'tlskey',
  'tlsverify', 'userns-remap', 'validate', 'version',
]);
