#!/usr/bin/env bash
# Builds drover-bench-peers (this folder's Go module: the Go reference proxy, its
# agent and the load generator) into the cache, as scripts/build-go-module.sh does
# for every small Go module here.
#
#   bench/peers/build.sh            build if needed, print the binary path
#   bench/peers/build.sh --print    print the binary path without building
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# rancher/remotedialer v0.6.2 needs Go >= 1.27.3; the go command fetches that
# toolchain from the module proxy (the machine's own Go is 1.26).
GOTOOLCHAIN=go1.27.3 exec "$here/../../scripts/build-go-module.sh" bench-peers "$here" "$@"
