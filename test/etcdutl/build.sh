#!/usr/bin/env bash
# Builds etcdutl, etcd's offline tool, which `snapshot restore` needs (etcd 3.6's
# etcdctl no longer restores), from this folder's Go module: a consumer of
# go.etcd.io/etcd/etcdutl/v3 at the etcd version test/kube builds (`go install
# ...@v3.6.8` refuses the module because its go.mod replaces its siblings with
# local paths; a consumer module does not see those replaces).
#
# Cached outside git, keyed by go.mod and go.sum here; prints the binary's path on
# its last line of stdout, progress on stderr.
#
#   test/etcdutl/build.sh            build if needed, print the binary path
#   test/etcdutl/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="$(cd "$here" && cat go.mod go.sum | sha256sum | cut -c1-12)"
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
bin="$cache_root/etcdutl-$key/etcdutl"

if [[ ${1:-} == --print ]]; then echo "$bin"; exit 0; fi
if [[ -x $bin ]]; then echo "etcdutl build: cached in $(dirname "$bin")" >&2; echo "$bin"; exit 0; fi

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
command -v go >/dev/null || { echo "etcdutl build: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }
echo "etcdutl build: compiling etcdutl (about a minute on 2 cores with a warm module cache)..." >&2
start=$SECONDS
mkdir -p "$(dirname "$bin")"
(cd "$here" && go build -trimpath -ldflags "-s -w" -o "$bin.partial.$$" go.etcd.io/etcd/etcdutl/v3)
mv "$bin.partial.$$" "$bin"
echo "etcdutl build: done in $((SECONDS - start))s" >&2
echo "$bin"
