#!/usr/bin/env bash
# Start a single-node Apache Kafka 4.x broker in KRaft mode (combined broker + controller) on 127.0.0.1.
#
# Env (all optional):
#   KAFKA_PORT=9092             client listener port
#   KAFKA_CONTROLLER_PORT       controller listener port (default KAFKA_PORT + 1)
#   KAFKA_DATA_DIR              log dirs + rendered config (default .run/kafka-$KAFKA_PORT)
#   KAFKA_HEAP=512m             JVM heap
#   KAFKA_START_TIMEOUT_S=90
#   KAFKA_HOST=127.0.0.1        address the client listener binds and advertises (e.g. a network namespace's)
#   KAFKA_SECURE=1              SASL_SSL instead of PLAINTEXT: SCRAM-SHA-512 over TLS. Makes (once, in
#                               $KAFKA_DATA_DIR/tls) a CA and a PKCS12 keystore for the broker, and the SCRAM users
#                               "admin" (the broker's own) and $KAFKA_CLIENT_USER when the storage is formatted.
#     KAFKA_CLIENT_USER=emopipe   the user the workers and tools log in as
#     KAFKA_CLIENT_PASSWORD       its password (default: random, kept in $KAFKA_DATA_DIR/secrets/client.password)
#     TLS_CA_DIR                  CA to sign with (default $KAFKA_DATA_DIR/tls); clients trust $TLS_CA_DIR/ca.crt
#     KAFKA_TLS_SANS              certificate names (default IP:$KAFKA_HOST,IP:127.0.0.1,DNS:localhost)
#   Users exist from the format on; to change them later use the Admin API (kafka-configs.sh of a Kafka
#   distribution, or Strimzi's KafkaUser on a cluster). Nothing secret is printed.
# Writes pid to $KAFKA_DATA_DIR/kafka.pid and the broker log to $KAFKA_DATA_DIR/kafka.log.
# Stop with deploy/kafka/stop.sh (same env).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../tls.sh"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data="${KAFKA_DATA_DIR:-$EMOPIPE_RUN_DIR/kafka-$port}"
heap="${KAFKA_HEAP:-512m}"
timeout_s="${KAFKA_START_TIMEOUT_S:-90}"
host="${KAFKA_HOST:-127.0.0.1}"
secure="${KAFKA_SECURE:-0}"
ensure_java
lib="$(bash "$EMOPIPE_ROOT/deploy/kafka/fetch.sh")"
mkdir -p "$data/logs"
pidfile="$data/kafka.pid"; logfile="$data/kafka.log"; props="$data/server.properties"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "Kafka already running on $host:$port (pid $(cat "$pidfile"))"; exit 0
fi
scram_args=()
if [ "$secure" = "1" ]; then
  tls="$data/tls"; secrets="$data/secrets"; ca="${TLS_CA_DIR:-$tls}"
  mkdir -p "$secrets"; chmod 700 "$secrets"
  ensure_ca "$ca"
  ensure_server_cert "$ca" "$tls" broker "${KAFKA_TLS_SANS:-IP:$host,IP:127.0.0.1,DNS:localhost}"
  ks_pass="$(secret_file "$secrets/keystore.password")"
  admin_pass="$(secret_file "$secrets/admin.password")"
  client_user="${KAFKA_CLIENT_USER:-emopipe}"
  client_pass="$(secret_file "$secrets/client.password" "${KAFKA_CLIENT_PASSWORD:-}")"
  if [ ! -f "$tls/broker.p12" ] || [ "$tls/broker.crt" -nt "$tls/broker.p12" ]; then
    openssl pkcs12 -export -in "$tls/broker.crt" -inkey "$tls/broker.key" -certfile "$ca/ca.crt" -name broker \
      -passout "file:$secrets/keystore.password" -out "$tls/broker.p12" || die "openssl could not write the keystore"
    chmod 600 "$tls/broker.p12"
  fi
  [ "$ca" = "$tls" ] || cp "$ca/ca.crt" "$tls/ca.crt"
  listener="SASL_SSL"
  scram_args=(--add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pass]"
              --add-scram "SCRAM-SHA-512=[name=$client_user,password=$client_pass]")
else
  listener="PLAINTEXT"
fi
( umask 077; : > "$props" )  # the rendered config holds the keystore and inter-broker passwords in secure mode
cat > "$props" <<PROPS
# rendered by deploy/kafka/start.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listener://$host:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$listener://$host:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=$listener
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$listener:$listener
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
if [ "$secure" = "1" ]; then
  cat >> "$props" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pass";
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$ks_pass
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
ssl.client.auth=none
ssl.enabled.protocols=TLSv1.3,TLSv1.2
PROPS
fi
cp_="$lib/*"
if [ ! -f "$data/logs/meta.properties" ]; then
  cluster_id="$(java -cp "$cp_" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
  java -cp "$cp_" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" "${scram_args[@]}" >"$data/format.log" 2>&1 \
    || { cat "$data/format.log" >&2; die "kafka storage format failed"; }
fi
log "starting Kafka 4.x on $listener://$host:$port (log: $logfile)"
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
if [ "$secure" = "1" ]; then
  log "SASL_SSL: user $client_user, password in $secrets/client.password, CA $tls/ca.crt"
fi
