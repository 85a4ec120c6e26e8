# shellcheck shell=bash
# Sourced by the build scripts of the Go programs the tests run beside the control
# plane (test/kubelet, test/etcdutl) and of the benches' Go peers (bench/peers):
# build a program once into a cache outside git, keyed by what the caller hashes,
# and print the binary's path on the last line of
# stdout (progress on stderr). Static, no workspace; the local Go unless the caller
# exports GOTOOLCHAIN (the benches' Go peers need a newer one). test/kube/build.sh adds
# build tags and version-stamping linker flags through GO_BUILD_TAGS and GO_LDFLAGS.
#
#   go_cached_build DIR LABEL KEY BINARY PACKAGE [--print]
#     DIR      the Go module to build in
#     LABEL    the cache folder's prefix and the progress lines' name
#     KEY      the caller's cache key (a new key builds anew; older keys' folders are removed)
#     PACKAGE  what `go build` builds, from DIR
go_cached_build() {
  local dir=$1 label=$2 key=$3 name=$4 pkg=$5 mode=${6:-}
  local cache_root="${DROVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/kube}"
  local bin="$cache_root/$label-$key/$name"
  if [[ $mode == --print ]]; then echo "$bin"; return; fi
  if [[ -x $bin ]]; then echo "$label build: cached in $(dirname "$bin")" >&2; echo "$bin"; return; fi
  command -v go >/dev/null || { echo "$label build: Go is not installed; install Go 1.26 and retry" >&2; return 1; }
  echo "$label build: compiling $name (a cold build takes a few minutes on 2 cores)..." >&2
  local start=$SECONDS
  mkdir -p "$(dirname "$bin")"
  (cd "$dir" && GOWORK=off GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 go build -trimpath -tags "${GO_BUILD_TAGS:-}" -ldflags "-s -w${GO_LDFLAGS:+ $GO_LDFLAGS}" -o "$bin.partial.$$" "$pkg")
  mv "$bin.partial.$$" "$bin"
  # Sources change often while developing; keep only the current build.
  find "$cache_root" -maxdepth 1 -type d -name "$label-*" ! -name "$label-$key" -exec rm -rf {} +
  echo "$label build: done in $((SECONDS - start))s" >&2
  echo "$bin"
}

# The linker flags that stamp a Kubernetes VERSION into its binaries, as upstream's release
# build does (what `--version` prints, and a kubelet reports on its Node); each starts with a space.
kube_version_ldflags() {
  local version=$1 minor stamp="" pkg
  minor="$(echo "$version" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$stamp"
}
