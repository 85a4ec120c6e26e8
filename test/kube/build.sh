#!/usr/bin/env bash
# Builds the real Kubernetes control plane our end-to-end tests run against:
# kube-apiserver, kube-controller-manager, kube-scheduler and etcd, from k8s.io/kubernetes at the
# version pinned in go.mod, through the Go module proxy.
#
# Binaries go to a cache outside git, keyed by the Kubernetes version and the
# builder's go.sum, and are rebuilt only when missing. Prints the binary folder on
# its last line of stdout; progress goes to stderr.
#
#   test/kube/build.sh            build if needed, print the folder
#   test/kube/build.sh --print    print the folder without building
#   test/kube/build.sh --test-kubelet [--print]   the same for drover-test-kubelet (test/kubelet/build.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../go-cached-build.sh"
# The test node (test/kubelet) is built and cached by its own script, under its own key.
if [[ ${1:-} == --test-kubelet ]]; then exec "$here/../kubelet/build.sh" "${@:2}"; fi
version="$(sed -nE 's#^\s*(require\s+)?k8s\.io/kubernetes (v[0-9.]+).*#\2#p' "$here/go.mod" | head -1)"
[[ -n $version ]] || { echo "build.sh: $here/go.mod does not require k8s.io/kubernetes" >&2; exit 1; }
sum_key="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
out="$cache_root/$version-$sum_key"

if [[ ${1:-} == --print ]]; then echo "$out"; exit 0; fi

# Same environment as upstream's release build: static binaries, no workspace,
# and never a silently downloaded toolchain.
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
command -v go >/dev/null || { echo "build.sh: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }

stamp="$(kube_version_ldflags "$version")"

build() { # name package
  local name=$1 pkg=$2
  if [[ -x $out/$name ]]; then echo "kube build: $name $version cached in $out" >&2; return; fi
  echo "kube build: compiling $name $version (cold builds take 10-20 minutes on 2 cores)..." >&2
  local start=$SECONDS
  (cd "$here" && go build -trimpath -tags selinux,notest -ldflags "-s -w$stamp" -o "$out/$name.partial" "$pkg")
  mv "$out/$name.partial" "$out/$name"
  echo "kube build: $name done in $((SECONDS - start))s" >&2
}

mkdir -p "$out"
(cd "$here" && go mod download)
build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
# Only provisioned clusters (src/provisioning) need the scheduler.
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
echo "$out"
