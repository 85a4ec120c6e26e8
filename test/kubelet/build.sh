#!/usr/bin/env bash
# Builds drover-test-kubelet (this folder's Go module) into a cache outside git,
# keyed by the Go sources and go.sum here, and rebuilds only when that key
# changes. Prints the binary's path on its last line of stdout; progress goes to
# stderr. Its key is independent of the control plane's (test/kube/build.sh).
#
#   test/kubelet/build.sh            build if needed, print the binary path
#   test/kubelet/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="$(cd "$here" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
bin="$cache_root/test-kubelet-$key/drover-test-kubelet"

if [[ ${1:-} == --print ]]; then echo "$bin"; exit 0; fi
if [[ -x $bin ]]; then echo "test-kubelet build: cached in $(dirname "$bin")" >&2; echo "$bin"; exit 0; fi

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
command -v go >/dev/null || { echo "test-kubelet build: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }
echo "test-kubelet build: compiling drover-test-kubelet (a cold build takes a few minutes on 2 cores)..." >&2
start=$SECONDS
mkdir -p "$(dirname "$bin")"
(cd "$here" && go build -ldflags "-s -w" -o "$bin.partial.$$" .)
mv "$bin.partial.$$" "$bin"
# Sources change often while developing; keep only the current build.
find "$cache_root" -maxdepth 1 -type d -name 'test-kubelet-*' ! -name "test-kubelet-$key" -exec rm -rf {} +
echo "test-kubelet build: done in $((SECONDS - start))s" >&2
echo "$bin"
