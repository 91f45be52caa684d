#!/usr/bin/env bash
# Builds Beam's Prism runner (a local streaming runner) from the Go module proxy, at the same
# release as the apache-beam Python SDK pinned in constraints.txt. Prints the binary's path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${TENDENCIAS_SCRATCH:-$root/.scratch}"
version="$(sed -n 's/^apache-beam==\(.*\)$/\1/p' "$root/constraints.txt")"
bin_dir="$scratch/prism/v$version"
if [ ! -x "$bin_dir/prism" ]; then
  command -v go >/dev/null || { echo "[prism] Go is required to build Prism" >&2; exit 1; }
  echo "[prism] building github.com/apache/beam/sdks/v2/go/cmd/prism@v$version (about a minute)" >&2
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "github.com/apache/beam/sdks/v2/go/cmd/prism@v$version" >&2
fi
echo "$bin_dir/prism"
