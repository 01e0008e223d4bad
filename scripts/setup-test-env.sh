#!/usr/bin/env bash
# Installs what the test suite drives for real: Debian packages (as root) and npm packages.
# Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(etcd-server etcd-client containerd runc busybox-static containernetworking-plugins iptables docker-registry)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${debs[@]}" >/dev/null
  else
    echo "setup: missing Debian packages ${missing[*]}; run as root or install them: apt-get install -y ${debs[*]}" >&2
    exit 1
  fi
fi
echo "setup: npm ci"
npm ci --no-audit --no-fund
