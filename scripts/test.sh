#!/usr/bin/env bash
# The test command: sets up .venv, starts the Kafka broker and builds Prism if needed, runs pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -k parse
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
scripts/kafka.sh start
export TENDENCIAS_PRISM="$(scripts/prism.sh)"
export TENDENCIAS_KAFKA_BOOTSTRAP="127.0.0.1:${TENDENCIAS_KAFKA_PORT:-19092}"
# Chromium for tests/browser; in CI a missing browser fails here, elsewhere that test skips.
if chromium="$(scripts/browser.sh)"; then
  export TENDENCIAS_CHROMIUM="$chromium"
elif [ "${CI:-}" = true ]; then
  echo "[test] Chromium could not be installed (scripts/browser.sh)" >&2
  exit 1
fi
exec .venv/bin/python -m pytest "$@"
