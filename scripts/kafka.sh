#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, single node) from Maven Central jars; no Docker.
# Usage: scripts/kafka.sh start|stop|status|restart|reset
# Env: TENDENCIAS_KAFKA_PORT (19092), TENDENCIAS_SCRATCH (<project>/.scratch)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${TENDENCIAS_SCRATCH:-$root/.scratch}"
port="${TENDENCIAS_KAFKA_PORT:-19092}"
controller_port=$((port + 1))
home="$scratch/kafka"
libs="$home/libs"
data="$home/data-$port"
pidfile="$home/broker-$port.pid"
log="$home/broker-$port.log"

say() { echo "[kafka] $*" >&2; }


fetch_jars() {
  if [ -f "$libs/.complete" ]; then return; fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch the broker jars"; exit 1; }
  command -v java >/dev/null || { say "Java 17+ is required to run the broker"; exit 1; }
  say "fetching Apache Kafka jars from Maven Central into $libs"
  mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$root/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

start() {
  fetch_jars
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
    wait_ready
    return
  fi
  mkdir -p "$data"
  local conf="$home/server-$port.properties"
  sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@DATA_DIR@#$data#g" \
      "$root/infra/kafka/server.properties.template" > "$conf"
  if [ ! -f "$data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    java -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$conf" >/dev/null 2>&1 \
      || { say "formatting $data failed"; exit 1; }
  fi
  say "starting broker on 127.0.0.1:$port (data in $data, log in $log)"
  nohup java -Xms256m -Xmx768m -Dlog4j2.configurationFile="$root/infra/kafka/log4j2.yaml" \
      -cp "$libs/*" kafka.Kafka "$conf" > "$log" 2>&1 &
  echo $! > "$pidfile"
  wait_ready
}

wait_ready() {
  local deadline=$((SECONDS + 90))
  until python3 - "$port" <<'PY' 2>/dev/null
import socket, struct, sys
# ApiVersions v0 request: the broker answers only when it is serving the protocol.
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
body = struct.pack(">hhih", 18, 0, 1, 9) + b"healthchk"
s.sendall(struct.pack(">i", len(body)) + body)
size = struct.unpack(">i", s.recv(4))[0]
resp = s.recv(size)
assert struct.unpack(">ih", resp[:6])[1] == 0
PY
  do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      say "broker exited; last lines of $log:"; tail -20 "$log" >&2; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then say "broker not healthy after 90 s; see $log"; exit 1; fi
    sleep 0.5
  done
  say "healthy on 127.0.0.1:$port"
}

stop() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    say "stopped"
  else
    say "not running"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then wait_ready; else say "not running"; exit 1; fi ;;
  reset) stop; rm -rf "$data"; say "data removed" ;;
  *) echo "usage: $0 start|stop|status|restart|reset" >&2; exit 2 ;;
esac
