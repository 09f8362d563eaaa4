#!/usr/bin/env bash
# Start a real redis-server on 127.0.0.1 (installs the Debian package redis-server when missing).
# Env: REDIS_PORT=6379, REDIS_DATA_DIR (default .run/redis-$REDIS_PORT). Stop with deploy/redis/stop.sh.
# Persistence: append-only file in the data dir, fsync every second (a restart keeps the history;
# at most ~1 s of writes can be lost on a host crash, and `emopipe rebuild-redis` restores them from Kafka).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
port="${REDIS_PORT:-6379}"
data="${REDIS_DATA_DIR:-$EMOPIPE_RUN_DIR/redis-$port}"
ensure_redis
mkdir -p "$data"
pidfile="$data/redis.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "Redis already running on 127.0.0.1:$port"; exit 0
fi
log "starting redis-server on 127.0.0.1:$port (log: $data/redis.log)"
redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --pidfile "$pidfile" \
  --logfile "$data/redis.log" --dir "$data" --save "" --appendonly yes --appendfsync everysec >/dev/null
for _ in $(seq 1 100); do
  [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ] && { log "Redis ready"; exit 0; }
  sleep 0.1
done
tail -n 20 "$data/redis.log" >&2 || true
die "redis-server did not answer PING on port $port"
