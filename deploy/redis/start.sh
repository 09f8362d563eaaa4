#!/usr/bin/env bash
# Start a real redis-server (installs the Debian package redis-server when missing).
# Env:
#   REDIS_PORT=6379, REDIS_DATA_DIR (default .run/redis-$REDIS_PORT), REDIS_BIND=127.0.0.1
#   REDIS_SECURE=1   TLS only (tls-port = REDIS_PORT, no plain-text port) and ACL users instead of the open
#                    default user. Makes (once, in $REDIS_DATA_DIR/tls) a CA and a server certificate, and the
#                    ACL file $REDIS_DATA_DIR/users.acl (passwords stored as SHA-256 only) with the users
#                    "admin" (everything) and $REDIS_CLIENT_USER (emopipe: data commands, no admin or dangerous ones).
#     REDIS_CLIENT_USER=emopipe  REDIS_CLIENT_PASSWORD (default: random, kept in $REDIS_DATA_DIR/secrets/client.password)
#     TLS_CA_DIR (CA to sign with; default $REDIS_DATA_DIR/tls), REDIS_TLS_SANS (default IP:$REDIS_BIND,IP:127.0.0.1,DNS:localhost)
#   Clients verify the server with $REDIS_DATA_DIR/tls/ca.crt; client certificates are not required.
# Stop with deploy/redis/stop.sh (same env).
# Persistence: append-only file in the data dir, fsync every second (a restart keeps the history;
# at most ~1 s of writes can be lost on a host crash, and `emopipe rebuild-redis` restores them from Kafka).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../tls.sh"
port="${REDIS_PORT:-6379}"
data="${REDIS_DATA_DIR:-$EMOPIPE_RUN_DIR/redis-$port}"
bind="${REDIS_BIND:-127.0.0.1}"
secure="${REDIS_SECURE:-0}"
ensure_redis
mkdir -p "$data"
pidfile="$data/redis.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "Redis already running on $bind:$port"; exit 0
fi
cli=(redis-cli -h "$bind" -p "$port")
if [ "$secure" = "1" ]; then
  tls="$data/tls"; secrets="$data/secrets"; ca="${TLS_CA_DIR:-$tls}"
  mkdir -p "$secrets"; chmod 700 "$secrets"
  ensure_ca "$ca"
  ensure_server_cert "$ca" "$tls" redis "${REDIS_TLS_SANS:-IP:$bind,IP:127.0.0.1,DNS:localhost}"
  [ "$ca" = "$tls" ] || cp "$ca/ca.crt" "$tls/ca.crt"
  admin_pass="$(secret_file "$secrets/admin.password")"
  client_user="${REDIS_CLIENT_USER:-emopipe}"
  client_pass="$(secret_file "$secrets/client.password" "${REDIS_CLIENT_PASSWORD:-}")"
  sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
  ( umask 077; cat > "$data/users.acl" <<ACL
user default off
user admin on #$(sha "$admin_pass") ~* &* +@all
user $client_user on #$(sha "$client_pass") ~* &* +@all -@admin -@dangerous
ACL
  )
  mode=(--port 0 --tls-port "$port" --tls-cert-file "$tls/redis.crt" --tls-key-file "$tls/redis.key"
        --tls-ca-cert-file "$tls/ca.crt" --tls-auth-clients no --aclfile "$data/users.acl")
  cli+=(--tls --cacert "$tls/ca.crt" --user admin)
  export REDISCLI_AUTH="$admin_pass"  # redis-cli reads the password from here, never from its argv
else
  mode=(--port "$port")
fi
log "starting redis-server on $bind:$port$([ "$secure" = "1" ] && echo ' (TLS, ACL users)') (log: $data/redis.log)"
redis-server "${mode[@]}" --bind "$bind" --daemonize yes --pidfile "$pidfile" \
  --logfile "$data/redis.log" --dir "$data" --save "" --appendonly yes --appendfsync everysec >/dev/null
for _ in $(seq 1 100); do
  if [ "$("${cli[@]}" ping 2>/dev/null)" = "PONG" ]; then
    log "Redis ready"
    [ "$secure" = "1" ] && log "TLS + ACL: user $client_user, password in $secrets/client.password, CA $tls/ca.crt"
    exit 0
  fi
  sleep 0.1
done
tail -n 20 "$data/redis.log" >&2 || true
die "redis-server did not answer PING on $bind:$port"
