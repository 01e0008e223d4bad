#!/usr/bin/env bash
# Installs what the test suite drives for real: the node's Debian packages
# (setup-runtime.sh) plus a real etcd and Debian's docker-registry (as root), then the npm
# packages. Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-runtime.sh --require etcd-server docker-registry
echo "setup: npm ci"
npm ci --no-audit --no-fund
