#!/usr/bin/env bash
# The local stack without Docker: Apache Kafka (KRaft, single node, from Maven Central),
# PostgreSQL and Redis (the machine's own). Same ports and variables as docker-compose.yml.
#
#   scripts/stack.sh up       start what is not running; idempotent; waits until all answer
#   scripts/stack.sh down     stop the Kafka broker this project started (PostgreSQL and Redis
#                             belong to the machine and keep running)
#   scripts/stack.sh status   one line per service
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${SPOTGRID_STACK_DIR:-$ROOT/.stack}"
KAFKA_DIR="$STACK/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOG="$KAFKA_DIR/broker.log"
KAFKA_PID="$KAFKA_DIR/broker.pid"
MAVEN_REPO="${SPOTGRID_MAVEN_REPO:-$STACK/maven}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx768m}"
# C1 only (TieredStopAtLevel=1): see docs/decisions/0004-local-kafka.md, "Later".
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1}"
KAFKA_WAIT_S="${KAFKA_WAIT_S:-90}"

PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres
REDIS_HOST=127.0.0.1 REDIS_PORT=6379
DATABASES=(spotgrid spotgrid_test)

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------- Kafka ----------

require_java() {
  command -v java >/dev/null 2>&1 || die "Java is not installed. Kafka needs Java 17 or newer: apt-get install openjdk-17-jre-headless"
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Java $v found; Kafka needs Java 17 or newer"
}

kafka_jars() {
  if [ -f "$KAFKA_LIBS/.complete" ] && [ "$KAFKA_LIBS/.complete" -nt "$ROOT/tools/kafka/pom.xml" ]; then return; fi
  command -v mvn >/dev/null 2>&1 || die "Maven is not installed. It fetches the Kafka broker from Maven Central: apt-get install maven"
  say "resolving the Kafka broker from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS" "$MAVEN_REPO"
  if ! mvn -B -q -f "$ROOT/tools/kafka/pom.xml" -Dmaven.repo.local="$MAVEN_REPO" \
      dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$KAFKA_DIR/maven.log" 2>&1; then
    tail -20 "$KAFKA_DIR/maven.log" >&2
    die "Maven could not resolve the Kafka broker (full log: $KAFKA_DIR/maven.log)"
  fi
  touch "$KAFKA_LIBS/.complete"
}

kafka_pid() {
  [ -f "$KAFKA_PID" ] || return 1
  local pid; pid=$(cat "$KAFKA_PID")
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

kafka_up() {
  if kafka_pid >/dev/null && port_open 127.0.0.1 9092; then say "kafka: already running (pid $(kafka_pid))"; return; fi
  if ! kafka_pid >/dev/null && port_open 127.0.0.1 9092; then say "kafka: something already answers on 127.0.0.1:9092; using it"; return; fi
  require_java
  kafka_jars
  mkdir -p "$KAFKA_DATA"
  sed "s#@DATA_DIR@#$KAFKA_DATA#" "$ROOT/tools/kafka/server.properties.template" >"$KAFKA_DIR/server.properties"
  local cp="$KAFKA_LIBS/*"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -Dlog4j2.configurationFile="$ROOT/tools/kafka/log4j2.yaml" -cp "$cp" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1 \
      || { cat "$KAFKA_DIR/format.log" >&2; die "formatting the Kafka storage failed"; }
  fi
  : >"$KAFKA_LOG"
  # setsid: the broker outlives the shell that started it, and a Ctrl-C there does not reach it.
  # shellcheck disable=SC2086
  setsid java $KAFKA_HEAP $KAFKA_JVM_OPTS -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/tools/kafka/log4j2.yaml" \
    -cp "$cp" kafka.Kafka "$KAFKA_DIR/server.properties" >>"$KAFKA_LOG" 2>&1 </dev/null &
  echo $! >"$KAFKA_PID"
  local waited=0
  until grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null && port_open 127.0.0.1 9092; do
    kafka_pid >/dev/null || { tail -30 "$KAFKA_LOG" >&2; die "the Kafka broker exited during start-up (log: $KAFKA_LOG)"; }
    [ "$waited" -lt $((KAFKA_WAIT_S * 5)) ] || die "the Kafka broker did not answer within ${KAFKA_WAIT_S}s (log: $KAFKA_LOG)"
    sleep 0.2; waited=$((waited + 1))
  done
  say "kafka: up on 127.0.0.1:9092 (pid $(kafka_pid), log $KAFKA_LOG)"
}

kafka_down() {
  local pid
  if ! pid=$(kafka_pid); then say "kafka: not running"; rm -f "$KAFKA_PID"; return; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then say "kafka: did not stop in 30s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$KAFKA_PID"
  say "kafka: stopped"
}

# ---------- PostgreSQL ----------

postgres_up() {
  if ! port_open "$PG_HOST" "$PG_PORT"; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      local version; version=$(ls /etc/postgresql | sort -V | tail -1)
      say "postgres: starting cluster $version/main"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "PostgreSQL $version would not start"
    else
      die "PostgreSQL is not running on $PG_HOST:$PG_PORT and is not installed here (apt-get install postgresql), or set DATABASE_URL to one that runs"
    fi
  fi
  for _ in $(seq 1 100); do
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1 \
    || die "PostgreSQL does not accept connections as $PG_USER on $PG_HOST:$PG_PORT"
  for db in "${DATABASES[@]}"; do
    if [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
      psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $db" >/dev/null
      say "postgres: created database $db"
    fi
  done
  say "postgres: up on $PG_HOST:$PG_PORT (databases ${DATABASES[*]})"
}

# ---------- Redis ----------

redis_up() {
  if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
    command -v redis-server >/dev/null 2>&1 || die "Redis is not running on $REDIS_HOST:$REDIS_PORT and is not installed here (apt-get install redis-server)"
    say "redis: starting"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || die "Redis would not start"
    for _ in $(seq 1 50); do port_open "$REDIS_HOST" "$REDIS_PORT" && break; sleep 0.1; done
  fi
  # BullMQ needs every key kept: an evicted job is a lost job (DESIGN.md section 6).
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null 2>&1 || true
  fi
  say "redis: up on $REDIS_HOST:$REDIS_PORT"
}

status() {
  local k p r
  if pid=$(kafka_pid); then k="running (pid $pid)"; elif port_open 127.0.0.1 9092; then k="answering (not started by this project)"; else k="down"; fi
  port_open "$PG_HOST" "$PG_PORT" && p=up || p=down
  port_open "$REDIS_HOST" "$REDIS_PORT" && r=up || r=down
  printf 'kafka     127.0.0.1:9092  %s\npostgres  %s:%s  %s\nredis     %s:%s  %s\n' "$k" "$PG_HOST" "$PG_PORT" "$p" "$REDIS_HOST" "$REDIS_PORT" "$r"
}

case "${1:-}" in
  up) postgres_up; redis_up; kafka_up ;;
  down) kafka_down ;;
  status) status ;;
  kafka-up) kafka_up ;;
  kafka-down) kafka_down ;;
  *) echo "usage: $0 up | down | status" >&2; exit 64 ;;
esac
