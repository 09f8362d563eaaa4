#!/usr/bin/env bash
# Start a single-node Apache Kafka 4.x broker in KRaft mode (combined broker + controller) on 127.0.0.1.
#
# Env (all optional):
#   KAFKA_PORT=9092             client listener port
#   KAFKA_CONTROLLER_PORT       controller listener port (default KAFKA_PORT + 1)
#   KAFKA_DATA_DIR              log dirs + rendered config (default .run/kafka-$KAFKA_PORT)
#   KAFKA_HEAP=512m             JVM heap
#   KAFKA_START_TIMEOUT_S=90
# Writes pid to $KAFKA_DATA_DIR/kafka.pid and the broker log to $KAFKA_DATA_DIR/kafka.log.
# Stop with deploy/kafka/stop.sh (same env).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data="${KAFKA_DATA_DIR:-$EMOPIPE_RUN_DIR/kafka-$port}"
heap="${KAFKA_HEAP:-512m}"
timeout_s="${KAFKA_START_TIMEOUT_S:-90}"
ensure_java
lib="$(bash "$EMOPIPE_ROOT/deploy/kafka/fetch.sh")"
mkdir -p "$data/logs"
pidfile="$data/kafka.pid"; logfile="$data/kafka.log"; props="$data/server.properties"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "Kafka already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; exit 0
fi
cat > "$props" <<PROPS
# rendered by deploy/kafka/start.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data/logs
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
log.segment.bytes=67108864
PROPS
cp_="$lib/*"
if [ ! -f "$data/logs/meta.properties" ]; then
  cluster_id="$(java -cp "$cp_" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
  java -cp "$cp_" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >"$data/format.log" 2>&1 \
    || { cat "$data/format.log" >&2; die "kafka storage format failed"; }
fi
log "starting Kafka 4.x on 127.0.0.1:$port (log: $logfile)"
start_s=$(date +%s.%N)
# setsid: the broker must not get the Ctrl-C of the terminal; stop.sh stops it cleanly.
setsid java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.showDateTime=true \
  -cp "$cp_" kafka.Kafka "$props" >"$logfile" 2>&1 < /dev/null &
echo $! > "$pidfile"
rc=0; wait_for_line "$logfile" "Kafka Server started" "$timeout_s" "$(cat "$pidfile")" || rc=$?
if [ "$rc" -ne 0 ]; then
  tail -n 30 "$logfile" >&2
  bash "$EMOPIPE_ROOT/deploy/kafka/stop.sh" || true
  die "Kafka did not start (rc=$rc); full log: $logfile"
fi
log "Kafka started in $(echo "$(date +%s.%N) - $start_s" | bc 2>/dev/null || echo '?') s"
