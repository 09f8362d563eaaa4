#!/usr/bin/env bash
# deploy/services.sh up|down : start or stop the local Kafka broker and Redis server together.
# Env: KAFKA_PORT (9092), REDIS_PORT (6379), KAFKA_DATA_DIR, REDIS_DATA_DIR (default under .run/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
  up) bash "$here/kafka/start.sh"; bash "$here/redis/start.sh" ;;
  down) bash "$here/kafka/stop.sh" || true; bash "$here/redis/stop.sh" || true ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
