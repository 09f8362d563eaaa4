#!/usr/bin/env bash
# Stop the broker started by deploy/kafka/start.sh (SIGTERM, wait up to 30 s, then SIGKILL). Same env as start.sh.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
port="${KAFKA_PORT:-9092}"
data="${KAFKA_DATA_DIR:-$EMOPIPE_RUN_DIR/kafka-$port}"
stop_pid "$data/kafka.pid" "Kafka"
