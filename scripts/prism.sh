#!/usr/bin/env bash
# Builds Beam's Prism runner (a local streaming runner) from the Go module proxy, at the same
# release as the apache-beam Python SDK pinned in constraints.txt, with the fixes in
# infra/prism/*.patch applied (see infra/prism/README.md). Prints the binary's path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${TENDENCIAS_SCRATCH:-$root/.scratch}"
version="$(sed -n 's/^apache-beam==\(.*\)$/\1/p' "$root/constraints.txt")"
patches=("$root"/infra/prism/*.patch)
patch_id="$(cat "${patches[@]}" | sha256sum | cut -c1-8)"
bin_dir="$scratch/prism/v$version-$patch_id"
if [ ! -x "$bin_dir/prism" ]; then
  command -v go >/dev/null || { echo "[prism] Go is required to build Prism" >&2; exit 1; }
  echo "[prism] building github.com/apache/beam/sdks/v2/go/cmd/prism@v$version with ${#patches[@]} patch(es) (about a minute)" >&2
  module="$(GOFLAGS=-mod=mod go mod download -json "github.com/apache/beam/sdks/v2@v$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$module" ] || { echo "[prism] could not download the Beam Go module v$version" >&2; exit 1; }
  src="$scratch/prism/src-v$version"
  rm -rf "$src" && mkdir -p "$src" && cp -r "$module/." "$src" && chmod -R u+w "$src"
  for p in "${patches[@]}"; do patch -s -p1 -d "$src" < "$p"; done
  mkdir -p "$bin_dir"
  (cd "$src" && GOFLAGS=-mod=mod go build -o "$bin_dir/prism" ./go/cmd/prism) >&2
  rm -rf "$src"
  # Earlier builds of this release (unpatched, or with other patches) must not be picked up.
  for old in "$scratch/prism/v$version" "$scratch/prism/v$version"-*; do
    [ "$old" = "$bin_dir" ] || rm -rf "$old"
  done
fi
echo "$bin_dir/prism"
