#!/usr/bin/env bash
# Builds the real kubelet, at the k8s.io/kubernetes version this folder's go.mod pins,
# for the provisioning test whose worker runs pods under containerd
# (test/e2e/provisioning-pod.test.ts). Its own module because the kubelet's
# dependencies are not in test/kube/go.sum, and adding them there would change that
# key and rebuild every cached control-plane binary. Cached outside git like the
# others (test/go-cached-build.sh), keyed by go.mod and go.sum. Prints the binary's
# path on its last line of stdout; progress goes to stderr.
#
#   test/kubelet-real/build.sh            build if needed, print the binary path
#   test/kubelet-real/build.sh --print    print the binary path without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../go-cached-build.sh"
version="$(sed -nE 's#^\s*(require\s+)?k8s\.io/kubernetes (v[0-9.]+).*#\2#p' "$here/go.mod" | head -1)"
[[ -n $version ]] || { echo "build.sh: $here/go.mod does not require k8s.io/kubernetes" >&2; exit 1; }
# Tags as upstream's build; a cold build takes 10-20 minutes on 2 cores, about 80 s when
# the control plane's build left the shared Go build cache warm.
GO_BUILD_TAGS=selinux,notest GO_LDFLAGS="$(kube_version_ldflags "$version")" go_cached_build "$here" "kubelet-$version" \
  "$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)" kubelet k8s.io/kubernetes/cmd/kubelet "${1:-}"
