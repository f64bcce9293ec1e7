#!/usr/bin/env bash
# Installs everything tsnet needs on a fresh Debian machine (run as root), then builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
pkgs=(iproute2 iptables nftables util-linux dnsutils busybox-static dnsmasq-base dnsperf containernetworking-plugins docker.io containerd podman netavark aardvark-dns etcd-server etcd-client iperf3 gcc libc6-dev firewalld dbus-daemon zsh fish man-db)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  # Never let a package start its service (docker.io would start a dockerd on the machine's real network; containerd and podman bring services too).
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
