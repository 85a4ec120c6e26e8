#!/usr/bin/env bash
# Builds drover-bench-peers (this folder's Go module: the Go reference proxy, its
# agent and the load generator) into the cache, as test/go-cached-build.sh does for
# every small Go module here.
#
#   bench/peers/build.sh            build if needed, print the binary path
#   bench/peers/build.sh --print    print the binary path without building
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../test/go-cached-build.sh"
# rancher/remotedialer v0.6.2 needs Go >= 1.27.3; the go command fetches that
# toolchain from the module proxy (the machine's own Go is 1.26).
export GOTOOLCHAIN=go1.27.3
go_cached_build "$here" bench-peers "$(cd "$here" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)" drover-bench-peers . "${1:-}"
