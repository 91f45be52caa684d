#!/usr/bin/env bash
# Creates .venv/ in the project root and installs Tendencias with its pinned dependencies.
# Idempotent: a second run only checks. Needs Python 3.11.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found %s" % sys.version.split()[0]'
stamp=".venv/.installed-$(cat setup.py constraints.txt | sha1sum | cut -c1-12)"
if [ -f "$stamp" ]; then
  echo "[setup] .venv is up to date" >&2
  exit 0
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
echo "[setup] installing dependencies into .venv (first time: about 5 minutes, 3 GB)" >&2
TENDENCIAS_EDITABLE=1 scripts/install.sh .venv/bin/python test
rm -f .venv/.installed-*
touch "$stamp"
echo "[setup] done: $(.venv/bin/tendencias --version)" >&2
