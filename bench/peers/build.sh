#!/usr/bin/env bash
# Builds drover-bench-peers (this folder's Go module: the Go reference proxy, its
# agent and the load generator) into a cache outside git, keyed by the sources and
# go.sum here, as test/kubelet/build.sh caches the test node. Prints the binary's
# path on its last line of stdout; progress goes to stderr.
#
#   bench/peers/build.sh            build if needed, print the binary path
#   bench/peers/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="$(cd "$here" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
bin="$cache_root/bench-peers-$key/drover-bench-peers"

if [[ ${1:-} == --print ]]; then echo "$bin"; exit 0; fi
if [[ -x $bin ]]; then echo "bench-peers build: cached in $(dirname "$bin")" >&2; echo "$bin"; exit 0; fi

# rancher/remotedialer v0.6.2 needs Go >= 1.27.3; the go command fetches that
# toolchain from the module proxy (the machine's own Go is 1.26).
export GOWORK=off GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0
command -v go >/dev/null || { echo "bench-peers build: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }
echo "bench-peers build: compiling drover-bench-peers (a cold build takes a few minutes on 2 cores)..." >&2
start=$SECONDS
mkdir -p "$(dirname "$bin")"
(cd "$here" && go build -trimpath -ldflags "-s -w" -o "$bin.partial.$$" .)
mv "$bin.partial.$$" "$bin"
find "$cache_root" -maxdepth 1 -type d -name 'bench-peers-*' ! -name "bench-peers-$key" -exec rm -rf {} +
echo "bench-peers build: done in $((SECONDS - start))s" >&2
echo "$bin"
