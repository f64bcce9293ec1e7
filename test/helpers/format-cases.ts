/**
 * The --format cases shared by the golden generator (scripts/format-goldens.ts, run against the real
 * docker CLI), the golden unit test and the live tsnet-versus-docker integration test.
 */

/** Networks the goldens are made on: docker network create ARGS NAME (tsnet create takes the same flags). */
export const GOLDEN_NETWORKS: { name: string; args: string[] }[] = [
  { name: 'fmt-alpha', args: ['--subnet', '172.28.0.0/16', '--gateway', '172.28.0.1', '--ip-range', '172.28.5.0/24', '--aux-address', 'host1=172.28.1.5', '--label', 'team=net', '-o', 'com.docker.network.bridge.name=brfmtalpha'] },
  { name: 'fmt-beta', args: ['--internal', '--ipv6', '--subnet', '172.29.0.0/24', '--subnet', 'fd00:29::/64', '--label', 'tier=db', '--label', 'zone=a'] },
  { name: 'fmt-gamma', args: ['--subnet', '172.27.3.0/24'] },
];

/** One `ls --format` case; filter (name=…) keeps Go's random label order out of the output. */
export interface LsCase {
  format: string;
  noTrunc?: boolean;
  filter?: string;
}

/** One `inspect --format` case over the named networks. */
export interface InspectCase {
  format: string;
  networks: string[];
}

/** What docker printed: exact stdout, or its error (exit status and stderr). */
export interface Outcome {
  stdout?: string;
  error?: { status: number; stderr: string };
}

/** fixtures/cli/format/network.golden.json. */
export interface FormatGolden {
  docker: string;
  networks: unknown[];
  ls: (LsCase & Outcome)[];
  inspect: (InspectCase & Outcome)[];
}

/** Containers the sandbox goldens are made on: docker run ARGS IMAGE sleep (in this order). */
export const GOLDEN_CONTAINERS: { name: string; args: string[] }[] = [
  { name: 'fmt-web', args: ['--network', 'fmt-alpha', '-p', '8080:80', '-p', '127.0.0.1:9000-9001:9000-9001', '--expose', '90', '--dns', '192.0.2.53'] },
  { name: 'fmt-none', args: ['--network', 'none'] },
  { name: 'fmt-shared', args: ['--network', 'container:fmt-web'] },
];

/** fixtures/cli/format/sandbox.golden.json: docker ps and docker inspect on GOLDEN_CONTAINERS. */
export interface SandboxGolden {
  docker: string;
  containers: unknown[];
  ps: (LsCase & Outcome)[];
  inspect: (InspectCase & Outcome)[];
}

/** `docker ps --format` and `docker inspect --format` cases over the fields a sandbox has. */
export const SANDBOX_CASES: { ps: LsCase[]; inspect: InspectCase[] } = {
  ps: [
    { format: 'table {{.ID}}\t{{.Names}}\t{{.Networks}}\t{{.Ports}}' },
    { format: '{{.ID}} {{.Names}}', noTrunc: true },
    { format: '{{.Names}}: {{.Ports}}' },
    { format: 'table {{.Names}}\t{{.CreatedAt}}\t{{.Labels}}|{{.Label "x"}}' },
    { format: '{{if .Networks}}{{.Networks}}{{else}}-{{end}} {{len .Ports}}' },
  ],
  inspect: [
    { format: '{{.Name}} {{.HostConfig.NetworkMode}}', networks: ['fmt-web', 'fmt-none', 'fmt-shared'] },
    { format: '{{.Id}}|{{.ID}}|{{.Created}}', networks: ['fmt-web'] },
    { format: '{{.NetworkSettings.Ports}}', networks: ['fmt-web', 'fmt-none'] },
    { format: '{{json .NetworkSettings.Ports}}', networks: ['fmt-web', 'fmt-none'] },
    { format: '{{range $p, $b := .NetworkSettings.Ports}}{{$p}}={{range $b}}{{.HostIp}}:{{.HostPort}},{{end}} {{end}}', networks: ['fmt-web'] },
    { format: '{{.Config.ExposedPorts}} {{json .Config.ExposedPorts}} {{.Config.Hostname | len}}', networks: ['fmt-web', 'fmt-none'] },
    { format: '{{range $n, $e := .NetworkSettings.Networks}}{{$n}} {{$e.IPAddress}}/{{$e.IPPrefixLen}} via {{$e.Gateway}} {{$e.MacAddress}} {{$e.Aliases}} {{len $e.NetworkID}}{{end}}', networks: ['fmt-web', 'fmt-none', 'fmt-shared'] },
    { format: '{{(index .NetworkSettings.Networks "fmt-alpha").IPAddress}} {{len .NetworkSettings.Networks}}', networks: ['fmt-web'] },
    { format: '{{.HostConfig.Dns}} {{json .HostConfig.Dns}} {{.HostConfig.DnsSearch}} {{.HostConfig.ExtraHosts}}', networks: ['fmt-web', 'fmt-none'] },
    { format: '{{len .NetworkSettings.SandboxKey | printf "%d"}} {{.NetworkSettings.Nope}}', networks: ['fmt-web'] },
  ],
};

const ALL = GOLDEN_NETWORKS.map((n) => n.name);
const alpha = { filter: 'name=fmt-alpha' };

/** The cases: every field `docker network ls --format` has, and each template form the issue names. */
export const FORMAT_CASES: { ls: LsCase[]; inspect: InspectCase[] } = {
  ls: [
    { format: 'table' },
    { format: '{{.ID}}' },
    { format: '{{.ID}}', noTrunc: true },
    { format: '{{.Name}}\t{{.Driver}}\t{{.Scope}}' },
    { format: 'table {{.ID}}\t{{.Name}}' },
    { format: 'table {{.Name}}\t{{.IPv6}}\t{{.Internal}}\t{{.CreatedAt}}' },
    { format: 'table {{.Name}}\t{{.Labels}}', ...alpha },
    { format: '{{json .}}', ...alpha },
    { format: '{{.Name}}: {{.Label "team"}}' },
    { format: 'table {{.Name}}\t{{.Label "team"}}' },
    { format: '{{if eq .Internal "true"}}{{.Name}} is internal{{else}}{{.Name}}{{end}}' },
    { format: '{{.Name | upper}} {{len .Name}} {{printf "%-12s|%5s|" .Driver .Scope}}' },
    { format: '{{json .Name}} {{split .Name "-"}} {{join (split .Name "-") "_"}}' },
    { format: '{{.Name}}{{/* a comment */}} {{- " trimmed" -}}  !' },
    { format: '{{range $i, $p := split .Name "-"}}{{if $i}}+{{end}}{{$p}}{{end}}' },
    { format: '{{title .Driver}} {{pad .Scope 1 2}}| {{truncate .Name 3}} {{lower "ABC"}}' },
    { format: '{{$n := .Name}}{{with .Driver}}{{$n}} uses {{.}}{{end}}' },
    { format: '{{if and (ne .Driver "null") (not (eq .Scope "swarm"))}}{{.Name}}{{else if eq .Driver "null"}}null:{{.Name}}{{end}}' },
    { format: 'table {{.Name}}\\t{{.Driver}}\\n{{.Scope}}' },
    { format: '{{.Name' },
    { format: '{{.Nope}}' },
    { format: '{{nofunc .Name}}' },
    { format: '{{end}}' },
    { format: '{{if .Name}}open' },
  ],
  inspect: [
    { format: '{{.Name}}', networks: ALL },
    { format: '{{.IPAM.Config}}', networks: ALL },
    { format: '{{json .IPAM.Config}}', networks: ALL },
    { format: '{{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}};{{end}}', networks: ALL },
    { format: '{{json .}}', networks: ALL },
    { format: '{{.}}', networks: ALL },
    { format: '{{.Labels}} {{json .Labels}} {{.Options}}', networks: ALL },
    { format: '{{index .Labels "tier"}}|{{index .Labels "nope"}}|{{index .Options "com.docker.network.bridge.name"}}', networks: ALL },
    { format: '{{index .Containers "0123456789ab"}}', networks: ['fmt-alpha'] },
    { format: '{{len .IPAM.Config}} {{len .Containers}} {{len .Labels}}', networks: ALL },
    { format: '{{if .Internal}}internal{{else}}external{{end}} {{.EnableIPv6}} {{.Scope}} {{.Driver}}', networks: ALL },
    { format: '{{.Id}}', networks: ALL },
    { format: '{{.ID}}', networks: ALL },
    { format: '{{.Created}} {{json .Created}}', networks: ALL },
    { format: '{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}', networks: ALL },
    { format: '{{with .IPAM.Config}}{{(index . 0).Subnet}}{{end}}', networks: ALL },
    { format: '{{.ConfigFrom}} {{.Peers}} {{.IPAM.Options}} {{.IPAM.Driver}}', networks: ALL },
    { format: '{{range .IPAM.Config}}{{.AuxAddress}}{{end}}', networks: ALL },
    { format: '{{range .IPAM.Config}}{{.AuxiliaryAddresses}}{{end}}', networks: ['fmt-alpha'] },
    { format: '{{.IPAM.Config.Subnet}}', networks: ['fmt-alpha'] },
    { format: '{{.Nope}}', networks: ['fmt-alpha'] },
    { format: '{{.Name', networks: ['fmt-alpha'] },
    { format: '{{join .Labels ","}}', networks: ['fmt-alpha'] },
  ],
};

/**
 * Templates whose output depends only on what the create flags set, so tsnet and docker must agree
 * live. Not among them: a gateway Docker computed itself (Docker 20.10's IPAM.Config lists only a
 * gateway given with --gateway; tsnet lists the one it chose), ids and times.
 */
export const LIVE_CASES: { ls: LsCase[]; inspect: InspectCase[] } = {
  ls: [
    { format: '{{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.IPv6}}\t{{.Internal}}' },
    { format: 'table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.IPv6}}\t{{.Internal}}' },
    { format: 'table {{.Name}}\t{{.Labels}}', ...alpha },
    { format: '{{.Name}}: {{.Label "team"}} {{.Label "tier"}} {{len .ID}}' },
  ],
  inspect: [
    { format: '{{.Name}} {{.Driver}} {{.Scope}} {{.EnableIPv6}} {{.Internal}}', networks: ALL },
    { format: '{{range .IPAM.Config}}{{.Subnet}}|{{.IPRange}}|{{.AuxAddress}};{{end}}', networks: ALL },
    { format: '{{index .IPAM.Config 0}} {{json .IPAM.Config}}', networks: ['fmt-alpha'] },
    { format: '{{.Labels}} {{json .Labels}} {{len .Labels}}', networks: ALL },
    { format: '{{index .Labels "tier"}}|{{index .Containers "x"}}|{{len .Containers}}', networks: ALL },
    { format: '{{.ConfigFrom}} {{.ConfigOnly}} {{.Attachable}} {{.Ingress}} {{.IPAM.Driver}} {{.IPAM.Options}}', networks: ALL },
  ],
};
