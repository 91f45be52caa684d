#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the browser tests (idempotent) and prints its
# path, with a colour emoji font for the screenshots (posts are full of emoji) when Debian has
# one. Needs root (or passwordless sudo) the first time; later runs only check.
set -euo pipefail
as_root=""
[ "$(id -u)" = 0 ] || as_root="sudo -n"
emoji_font() {
  # best effort: screenshots without it show emoji as empty boxes, nothing fails
  if ! fc-list 2>/dev/null | grep -qi "color emoji"; then
    echo "[browser] installing fonts-noto-color-emoji (first time only)" >&2
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
      fonts-noto-color-emoji >&2 || echo "[browser] no colour emoji font: emoji show as boxes" >&2
  fi
}
for candidate in "${TENDENCIAS_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    emoji_font
    echo "$candidate"
    exit 0
  fi
done
echo "[browser] installing chromium with apt-get (first time only)" >&2
$as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
emoji_font
echo /usr/bin/chromium
