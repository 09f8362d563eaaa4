#!/usr/bin/env bash
# Stop the redis-server started by deploy/redis/start.sh (same env).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
port="${REDIS_PORT:-6379}"
data="${REDIS_DATA_DIR:-$EMOPIPE_RUN_DIR/redis-$port}"
stop_pid "$data/redis.pid" "Redis"
