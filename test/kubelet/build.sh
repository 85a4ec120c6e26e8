#!/usr/bin/env bash
# Builds drover-test-kubelet (this folder's Go module) into a cache outside git,
# keyed by the Go sources and go.sum here, and rebuilds only when that key
# changes (test/go-cached-build.sh). Prints the binary's path on its last line of
# stdout; progress goes to stderr. Its key is independent of the control plane's
# (test/kube/build.sh).
#
#   test/kubelet/build.sh            build if needed, print the binary path
#   test/kubelet/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../go-cached-build.sh"
go_cached_build "$here" test-kubelet "$(cd "$here" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)" drover-test-kubelet . "${1:-}"
