#!/usr/bin/env bash
# Builds drover-pod (this folder's Go module) into a cache outside git, keyed by its
# sources (test/go-cached-build.sh). Prints the binary's path on its last line of stdout.
#
#   test/pod-image/build.sh            build if needed, print the binary path
#   test/pod-image/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../go-cached-build.sh"
go_cached_build "$here" pod-image "$(cd "$here" && sha256sum go.mod ./*.go | sha256sum | cut -c1-12)" drover-pod . "${1:-}"
