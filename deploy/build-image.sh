#!/usr/bin/env bash
# Builds the drover image with buildah, offline: no base image is pulled. The root
# filesystem is assembled here from what the machine already has (scripts/setup.sh
# installs it all): this machine's Node 24 binary with exactly the shared libraries
# `ldd` names for it and for the native addons, CA certificates, a passwd entry for
# the non-root user, the compiled dist/, and production-only node_modules pruned from
# a copy of ours. deploy/Containerfile then puts it in one layer FROM scratch.
#
#   deploy/build-image.sh [--tag NAME] [--oci-archive FILE] [--force]
#
# NAME defaults to $DROVER_AGENT_IMAGE, else drover/drover:<package version>: the
# same setting `drover server --agent-image` reads, so the server's import manifest
# names the image built here. The image carries a content key (sources, lockfile,
# Node version, this script, the Containerfile) as a label; an image with the same
# name and key is reused, unless --force. Buildah's storage is its default, or
# $DROVER_IMAGE_STORAGE (a folder: the suite keeps its own, where the images
# earlier builds left untagged are removed). Progress goes to
# stderr; the last line of stdout is the image name.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { echo "image build: $*" >&2; }
fail() { echo "image build: $*" >&2; exit 1; }

version="$(node -p 'require("./package.json").version')"
tag="${DROVER_AGENT_IMAGE:-drover/drover:$version}"
archive="" force=""
while (($#)); do
  case "$1" in
    --tag) tag="${2:?--tag needs an image name}"; shift 2 ;;
    --oci-archive) archive="${2:?--oci-archive needs a file name}"; shift 2 ;;
    --force) force=1; shift ;;
    *) fail "unknown argument $1 (use --tag NAME, --oci-archive FILE, --force)" ;;
  esac
done

command -v buildah >/dev/null || fail "buildah is not installed; run scripts/setup.sh (or apt-get install buildah) and retry"
node_bin="$(readlink -f "$(command -v node)")"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 24)) || fail "the image ships this machine's Node, which is $(node --version); install Node 24 (scripts/install-node.sh) and retry"

# vfs: works without overlay or fuse support, which these machines lack.
bh=(buildah --storage-driver vfs)
if [[ -n ${DROVER_IMAGE_STORAGE:-} ]]; then bh+=(--root "$DROVER_IMAGE_STORAGE/root" --runroot "$DROVER_IMAGE_STORAGE/run"); fi

key="$({
  node --version
  cat package.json package-lock.json tsconfig.json tsconfig.build.json deploy/Containerfile deploy/build-image.sh
  find src ui -type f ! -name '*.test.ts' ! -path 'ui/node_modules/*' -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)"

existing="$("${bh[@]}" inspect --type image --format '{{index .OCIv1.Config.Labels "io.drover.content-key"}}' "$tag" 2>/dev/null || true)"
if [[ -z $force && $existing == "$key" ]]; then
  step "$tag is up to date (content key $key); --force rebuilds it"
else
  start=$SECONDS
  stage="$(mktemp -d "${TMPDIR:-/tmp}/drover-image.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  rootfs="$stage/rootfs" app="$stage/rootfs/opt/drover"
  mkdir -p "$app" "$rootfs/usr/local/bin" "$rootfs/opt/drover-node/bin" "$rootfs/etc/ssl/certs" "$rootfs/usr/bin"

  step "[1/5] compiling dist/ (tsc and the web UI) into a staging folder"
  npx tsc -p tsconfig.build.json --outDir "$app/dist"
  npx vite build --config ui/vite.config.ts --outDir "$app/dist/ui" --emptyOutDir --logLevel warn >&2
  chmod +x "$app/dist/cli/main.js"

  step "[2/5] production node_modules (a pruned copy of ours; no network)"
  cp package.json package-lock.json "$app/"
  cp -a node_modules/. "$app/node_modules/"
  (cd "$app" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >&2)

  step "[3/5] root filesystem: Node $(node --version), the libraries ldd names, CA certificates, users"
  cp "$node_bin" "$rootfs/opt/drover-node/bin/node"
  ln -s /opt/drover-node/bin/node "$rootfs/usr/local/bin/node"
  # dist/cli/main.js starts with `#!/usr/bin/env node`; env is the only other program in the image.
  cp "$(readlink -f /usr/bin/env)" "$rootfs/usr/bin/env"
  ln -s /opt/drover/dist/cli/main.js "$rootfs/usr/local/bin/drover"
  # Native addons ship prebuilds for other systems too; ldd refuses the foreign ones
  # (Mach-O, PE, other CPUs) and cannot resolve the musl ones, which never load here.
  mapfile -t addons < <(find "$app/node_modules" -name '*.node' -type f ! -path '*musl*')
  ldd_out="$(ldd "$node_bin" /usr/bin/env; for f in "${addons[@]}"; do ldd "$f" 2>/dev/null || true; done)"
  if grep -q 'not found' <<<"$ldd_out"; then fail "a shared library is missing on this machine: $(grep 'not found' <<<"$ldd_out" | sort -u | tr '\n' ' ')"; fi
  # Lines look like "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)".
  mapfile -t libs < <(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\// && $i !~ /:$/) { print $i; break } }' <<<"$ldd_out" | sort -u)
  for lib in "${libs[@]}"; do cp -L --parents "$lib" "$rootfs/"; done
  cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/nonexistent\ndrover:x:1000:1000:drover:/opt/drover:/nonexistent\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\ndrover:x:1000:\n' >"$rootfs/etc/group"
  mkdir -m 1777 "$rootfs/tmp"

  step "[4/5] buildah build $tag from deploy/Containerfile ($(du -sh "$rootfs" | cut -f1) root filesystem)"
  "${bh[@]}" build --quiet --isolation chroot -f deploy/Containerfile \
    --build-arg "VERSION=$version" --build-arg "CONTENT_KEY=$key" -t "$tag" "$stage" >/dev/null
  step "[5/5] built $tag in $((SECONDS - start))s (content key $key)"
  # A storage of our own (the suite's) would otherwise keep every earlier build, untagged.
  if [[ -n ${DROVER_IMAGE_STORAGE:-} ]]; then "${bh[@]}" rmi --prune >/dev/null 2>&1 || true; fi
fi

if [[ -n $archive ]]; then
  step "exporting $tag to $archive (OCI archive)"
  rm -f "$archive"
  "${bh[@]}" push --quiet "$tag" "oci-archive:$archive"
fi
echo "$tag"
