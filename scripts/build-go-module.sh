#!/usr/bin/env bash
# Builds one of the repository's small Go modules (the test node, the benches' Go
# peers) into a cache outside git, keyed by its Go sources and go.sum, and rebuilds
# only when that key changes. Prints the binary's path on its last line of stdout;
# progress goes to stderr. GOTOOLCHAIN comes from the caller (default: local).
#
#   scripts/build-go-module.sh NAME DIR            build DIR as drover-NAME if needed, print its path
#   scripts/build-go-module.sh NAME DIR --print    print the path without building
set -euo pipefail

name="${1:?usage: build-go-module.sh NAME DIR [--print]}"
dir="$(cd "${2:?usage: build-go-module.sh NAME DIR [--print]}" && pwd)"
key="$(cd "$dir" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
bin="$cache_root/$name-$key/drover-$name"

if [[ ${3:-} == --print ]]; then echo "$bin"; exit 0; fi
if [[ -x $bin ]]; then echo "$name build: cached in $(dirname "$bin")" >&2; echo "$bin"; exit 0; fi

export GOWORK=off GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
command -v go >/dev/null || { echo "$name build: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }
echo "$name build: compiling drover-$name (a cold build takes a few minutes on 2 cores)..." >&2
start=$SECONDS
mkdir -p "$(dirname "$bin")"
(cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$bin.partial.$$" .)
mv "$bin.partial.$$" "$bin"
# Sources change often while developing; keep only the current build.
find "$cache_root" -maxdepth 1 -type d -name "$name-*" ! -name "$name-$key" -exec rm -rf {} +
echo "$name build: done in $((SECONDS - start))s" >&2
echo "$bin"
