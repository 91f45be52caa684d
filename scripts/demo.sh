#!/usr/bin/env bash
# The demo: sets up .venv, starts the embedded Kafka broker and Prism, replays generated sample
# posts into Kafka, runs the streaming job over them and prints the trends it found.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
scripts/kafka.sh start
export TENDENCIAS_PRISM="$(scripts/prism.sh)"
export TENDENCIAS_KAFKA_BOOTSTRAP="127.0.0.1:${TENDENCIAS_KAFKA_PORT:-19092}"
exec .venv/bin/tendencias demo "$@"
