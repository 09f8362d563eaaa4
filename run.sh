#!/usr/bin/env bash
# emopipe's two commands (see README.md):
#
#   bash run.sh demo    set everything up, start Kafka + Redis, run the main job, stop the services
#   bash run.sh test    set everything up, start Kafka + Redis on test ports, run all tests, stop the services
#
# Also: `bash run.sh setup` (install only), `bash run.sh up|down` (services only, for manual use with
# `.venv/bin/emopipe ...`). Services are stopped on exit, failure and Ctrl-C. Logs: .run/logs/ and .run/*/.
set -euo pipefail
cd "$(dirname "$0")"
source deploy/lib.sh

cmd="${1:-}"; shift || true
case "$cmd" in
  setup) bash deploy/bootstrap.sh ;;
  up) bash deploy/bootstrap.sh; bash deploy/services.sh up
      log "Kafka on 127.0.0.1:${KAFKA_PORT:-9092}, Redis on 127.0.0.1:${REDIS_PORT:-6379}; stop with: bash run.sh down" ;;
  down) bash deploy/services.sh down ;;
  test)
    t0=$(date +%s)
    bash deploy/bootstrap.sh
    export KAFKA_PORT="${EMOPIPE_TEST_KAFKA_PORT:-19092}" REDIS_PORT="${EMOPIPE_TEST_REDIS_PORT:-16379}"
    svc_dir="$(mktemp -d -t emopipe-test-XXXXXX)"
    export KAFKA_DATA_DIR="$svc_dir/kafka" REDIS_DATA_DIR="$svc_dir/redis"
    trap 'bash deploy/services.sh down; rm -rf "$svc_dir"' EXIT
    trap 'exit 130' INT TERM
    bash deploy/services.sh up
    export EMOPIPE_KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT" EMOPIPE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    rc=0
    .venv/bin/python -m pytest "$@" || rc=$?
    log "tests finished in $(( $(date +%s) - t0 )) s (rc=$rc)"
    exit "$rc" ;;
  demo)
    bash deploy/bootstrap.sh
    export KAFKA_PORT="${KAFKA_PORT:-9092}" REDIS_PORT="${REDIS_PORT:-6379}"
    trap 'bash deploy/services.sh down' EXIT
    trap 'exit 130' INT TERM
    bash deploy/services.sh up
    export EMOPIPE_KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT" EMOPIPE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    .venv/bin/emopipe demo "$@" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
