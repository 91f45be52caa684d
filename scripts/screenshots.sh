#!/usr/bin/env bash
# Refreshes the README's screenshots (docs/img/*.png): runs the browser test with its screenshot
# folder pointed at docs/img. The test alone writes them to a temporary folder and says where.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
TENDENCIAS_CHROMIUM="$(scripts/browser.sh)"
export TENDENCIAS_CHROMIUM
export TENDENCIAS_SCREENSHOT_DIR="$root/docs/img"
exec .venv/bin/python -m pytest tests/browser -q "$@"
