/** The embedded DNS module: name records, the resolver's transport, and the sandbox resolver files. */
export { type DnsBackend, type LookupResult, type Requester, requesterKey } from './backend';
export { DNS_LISTEN_ADDRESS, DNS_PORT } from './constants';
export { type DnsEntry, type DnsNetworkInfo, DnsRecords, normalizeName } from './records';
export { DnsServer, type DnsServerOptions, type ListenSpec } from './server';
export { type DnsOverrides, externalServers, hostUpstreams, parseResolvConf, renderResolvConf, type ResolvConf, type ResolvConfInput } from './files/resolv-conf';
export { HOST_GATEWAY, type HostsInput, parseExtraHost, renderHosts } from './files/hosts';
export { renderHostname, validateHostname } from './files/hostname';
export { writeSandboxFile } from './files/write';
