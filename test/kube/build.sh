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
#   test/kube/build.sh --module DIR [--print]      the same from another builder module (test/kube-previous,
#                                                  the earlier version provisioning upgrades from), without etcd
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../go-cached-build.sh"
# The test node (test/kubelet) is built and cached by its own script, under its own key.
if [[ ${1:-} == --test-kubelet ]]; then exec "$here/../kubelet/build.sh" "${@:2}"; fi
module="$here"
if [[ ${1:-} == --module ]]; then module="$(cd "$2" && pwd)"; shift 2; fi
version="$(sed -nE 's#^\s*(require\s+)?k8s\.io/kubernetes (v[0-9.]+).*#\2#p' "$module/go.mod" | head -1)"
[[ -n $version ]] || { echo "build.sh: $module/go.mod does not require k8s.io/kubernetes" >&2; exit 1; }
sum_key="$(cat "$module/go.mod" "$module/go.sum" | sha256sum | cut -c1-12)"
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
out="$cache_root/$version-$sum_key"

if [[ ${1:-} == --print ]]; then echo "$out"; exit 0; fi

# Same environment as upstream's release build: static binaries, no workspace,
# and never a silently downloaded toolchain.
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
command -v go >/dev/null || { echo "build.sh: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }

stamp="$(kube_version_ldflags "$version")"

build() { # name package; cold builds take 10-20 minutes on 2 cores
  GO_BUILD_TAGS=selinux,notest GO_LDFLAGS="$stamp" go_cached_build "$module" "$version" "$sum_key" "$1" "$2" >/dev/null
}

mkdir -p "$out"
(cd "$module" && go mod download)
# One etcd serves every version built here: Kubernetes 1.35 and 1.36 both support etcd 3.6
# (test/kube-previous builds only the Kubernetes components; the testenv links this etcd).
if [[ $module == "$here" ]]; then build etcd go.etcd.io/etcd/server/v3; fi
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
# Only provisioned clusters (src/provisioning) need the scheduler.
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
echo "$out"
