#!/usr/bin/env bash
# The quick-start demo, run by `npm run demo` inside a private host (its own network and mount
# namespace), so nothing here touches the machine's real network.
set -euo pipefail
tsnet() { echo "+ tsnet $*" >&2; node "$(dirname "$0")/../build/src/cli/main.js" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "create a user-defined bridge network"
tsnet create -d bridge --subnet 172.25.0.0/16 mynet
tsnet ls

say "start two sandboxes on it: web serves HTTP (port 80 published on host port 8080), client asks"
tsnet sandbox create web --network mynet --alias www -p 8080:80
tsnet sandbox create client --network mynet
tsnet sandbox ls
mkdir -p /tmp/tsnet-demo-www && echo "hello from web" > /tmp/tsnet-demo-www/index.html
tsnet sandbox exec web -- busybox httpd -p 80 -h /tmp/tsnet-demo-www
sleep 0.3

say "client reaches web by address, by name and by alias (embedded DNS at 127.0.0.11)"
tsnet sandbox exec client -- busybox wget -qO- http://172.25.0.2/
tsnet sandbox exec client -- busybox wget -qO- http://web/
tsnet sandbox exec client -- busybox wget -qO- http://www/
tsnet sandbox exec client -- cat /etc/resolv.conf

say "the host reaches web through the published port"
tsnet port web
busybox wget -qO- http://127.0.0.1:8080/

say "inspect the network (docker network inspect shape)"
tsnet inspect mynet

say "clean up"
pkill -f "busybox httpd -p 80 -h /tmp/tsnet-demo-www" || true
tsnet sandbox rm web client
tsnet rm mynet
rm -rf /tmp/tsnet-demo-www
