#!/usr/bin/env bash
# Builds helm from its Go module into a cache outside git (beside the control-plane
# binaries), keyed by the pinned version, so the chart test (test/e2e/helm-chart.test.ts)
# renders deploy/helm/drover with the real `helm template`. Prints the binary's path
# on its last line of stdout; progress goes to stderr.
#
#   test/helm/build.sh            build if needed, print the binary path
#   test/helm/build.sh --print    print the binary path without building
set -euo pipefail

version=v3.21.4
cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
bin="$cache_root/helm-$version/helm"

if [[ ${1:-} == --print ]]; then echo "$bin"; exit 0; fi
if [[ -x $bin ]]; then echo "helm build: cached in $(dirname "$bin")" >&2; echo "$bin"; exit 0; fi

export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
command -v go >/dev/null || { echo "helm build: Go is not installed; install Go 1.26 and retry" >&2; exit 1; }
echo "helm build: compiling helm $version from its Go module (a cold build takes about 5 minutes on 2 cores)..." >&2
start=$SECONDS
partial="$(dirname "$bin").partial.$$"
mkdir -p "$partial"
GOBIN="$partial" go install -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$version"
rm -rf "$(dirname "$bin")"
mv "$partial" "$(dirname "$bin")"
echo "helm build: done in $((SECONDS - start))s" >&2
echo "$bin"
