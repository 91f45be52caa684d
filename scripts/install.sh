#!/usr/bin/env bash
# The one install step, shared by scripts/setup.sh (into .venv) and the Dockerfile (into the
# Beam SDK image): Tendencias with the exact versions of constraints.txt.
# Usage: scripts/install.sh PYTHON [EXTRAS]   e.g. scripts/install.sh .venv/bin/python test
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$1"
extras="${2:-}"
target="$root"
[ -n "$extras" ] && target="$root[$extras]"
"$python" -m pip install -q --upgrade pip
if [ -n "${TENDENCIAS_EDITABLE:-}" ]; then
  "$python" -m pip install -q -c "$root/constraints.txt" -e "$target"
else
  "$python" -m pip install -q -c "$root/constraints.txt" "$target"
fi
