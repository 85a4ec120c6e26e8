#!/usr/bin/env bash
# Builds drover-test-kubelet (this folder's Go module) into the cache, as
# scripts/build-go-module.sh does for every small Go module here. Its key is
# independent of the control plane's (test/kube/build.sh).
#
#   test/kubelet/build.sh            build if needed, print the binary path
#   test/kubelet/build.sh --print    print the binary path without building
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../../scripts/build-go-module.sh" test-kubelet "$here" "$@"
