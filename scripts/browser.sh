#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the browser tests (idempotent) and prints its
# path. Needs root (or passwordless sudo) the first time; later runs only check.
set -euo pipefail
for candidate in "${TENDENCIAS_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
as_root=""
[ "$(id -u)" = 0 ] || as_root="sudo -n"
echo "[browser] installing chromium with apt-get (first time only)" >&2
$as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
echo /usr/bin/chromium
