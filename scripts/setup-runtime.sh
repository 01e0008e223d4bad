#!/usr/bin/env bash
# Installs the Debian packages a node needs to run real containers, when they are missing:
# containerd, runc, the CNI plugins, iptables (kube-proxy), busybox-static (the sandbox and
# stand-in images are built from it when no registry is reachable) and etcd-client (the
# etcdctl inside the etcd-<node> pod, and the README's etcdctl commands).
#
#   scripts/setup-runtime.sh                 `npm start` runs this first: installs as root,
#                                            otherwise says what is missing and goes on (the
#                                            cluster then runs pods on the simulated runtime)
#   scripts/setup-runtime.sh --require P...  also installs packages P, and fails when anything
#                                            can't be installed (the test suite's set-up)
# Safe to run again: with everything installed it does nothing.
set -euo pipefail

require=0
extra=()
for a in "$@"; do
  case "$a" in
    --require) require=1 ;;
    *) extra+=("$a") ;;
  esac
done
debs=(containerd runc containernetworking-plugins iptables busybox-static etcd-client "${extra[@]}")

missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  missing=("${debs[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

fail() {
  if [ "$require" = 1 ]; then echo "setup: $1" >&2; exit 1; fi
  echo "setup: $1; the cluster will run pods on the simulated runtime" >&2
  exit 0
}
[ "$(id -u)" = 0 ] || fail "missing Debian packages ${missing[*]} for real containers; as root: apt-get install -y ${missing[*]}"
command -v apt-get >/dev/null || fail "missing ${missing[*]} and no apt-get here to install them"
echo "setup: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed"
apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install -y ${missing[*]} failed"
