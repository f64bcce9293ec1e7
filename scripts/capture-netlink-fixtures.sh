#!/usr/bin/env bash
# Captures real kernel rtnetlink replies as hex fixtures for the decoder tests (fixtures/netlink/*.hex).
# The replies are read by iproute2 and recorded by strace, so neither side is tsnet's own code.
# Run inside a private host: node build/test/helpers/private-host.js bash scripts/capture-netlink-fixtures.sh
set -euo pipefail
[ -n "${TSNET_PRIVATE_HOST:-}" ] || { echo "run me inside a private host (see the header)" >&2; exit 2; }
OUT="$(cd "$(dirname "$0")/.." && pwd)/fixtures/netlink"
mkdir -p "$OUT"

# One fixture per command: every datagram iproute2 read with recvmsg (strace's hex dump), one hex line each.
capture() {
  local name=$1; shift
  strace -f -e trace=recvmsg -e read=all -o "/tmp/strace-$name" "$@" >/dev/null 2>&1 || true
  python3 - "/tmp/strace-$name" "$OUT/$name.hex" <<'PY'
import sys
datagrams, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith(' * ') and 'bytes in buffer' in line:
        cur = []
        datagrams.append(cur)
    elif line.startswith(' | ') and cur is not None:
        cur.append(''.join(line[10:58].split()))
open(sys.argv[2], 'w').write('\n'.join(''.join(d) for d in datagrams) + '\n')
PY
  rm -f "/tmp/strace-$name"
}

ip link add br-fx type bridge
ip link set br-fx address 02:00:00:00:0f:01 mtu 1500
ip link add veth-fx type veth peer name veth-fx-p
ip link set veth-fx address 02:00:00:00:0f:02 mtu 1400 master br-fx up
ip link add mv-fx link br-fx address 02:00:00:00:0f:03 type macvlan mode bridge
ip link add vx-fx address 02:00:00:00:0f:04 type vxlan id 4096 local 192.0.2.1 dstport 4789 nolearning ttl 64
ip addr add 192.0.2.1/24 dev br-fx
ip addr add 2001:db8::1/64 dev br-fx nodad
ip link set br-fx up
ip route add 198.51.100.0/24 via 192.0.2.254 dev br-fx metric 100
ip neigh replace 192.0.2.7 lladdr 02:00:00:00:0f:07 dev br-fx nud permanent
bridge fdb append 00:00:00:00:00:00 dev vx-fx dst 192.0.2.8 self permanent
bridge fdb add 02:00:00:00:0f:09 dev vx-fx dst 192.0.2.9 self permanent

capture link-veth ip -d link show dev veth-fx
capture link-bridge ip -d link show dev br-fx
capture link-macvlan ip -d link show dev mv-fx
capture link-vxlan ip -d link show dev vx-fx
capture addr-dump ip addr show dev br-fx
capture route-dump ip -4 route show table main
capture neigh-dump ip -4 neigh show dev br-fx
capture fdb-dump bridge fdb show dev vx-fx
# Refusals: a name that is taken (EEXIST) and a kind this kernel lacks (extended ACK text).
capture error-eexist ip link add br-fx type bridge
capture error-extack ip link add dm-fx type dummy
ls -l "$OUT"
