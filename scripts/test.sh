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
exec .venv/bin/python -m pytest "$@"
