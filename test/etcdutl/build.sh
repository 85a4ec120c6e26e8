#!/usr/bin/env bash
# Builds etcdutl, etcd's offline tool, which `snapshot restore` needs (etcd 3.6's
# etcdctl no longer restores), from this folder's Go module: a consumer of
# go.etcd.io/etcd/etcdutl/v3 at the etcd version test/kube builds (`go install
# ...@v3.6.8` refuses the module because its go.mod replaces its siblings with
# local paths; a consumer module does not see those replaces). Cached outside git,
# keyed by go.mod and go.sum here (test/go-cached-build.sh).
#
#   test/etcdutl/build.sh            build if needed, print the binary path
#   test/etcdutl/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../go-cached-build.sh"
go_cached_build "$here" etcdutl "$(cd "$here" && cat go.mod go.sum | sha256sum | cut -c1-12)" etcdutl go.etcd.io/etcd/etcdutl/v3 "${1:-}"
