# shellcheck shell=bash
# Helpers shared by the deploy scripts. Source it; do not run it.

EMOPIPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMOPIPE_RUN_DIR="${EMOPIPE_RUN_DIR:-$EMOPIPE_ROOT/.run}"
EMOPIPE_CACHE="${EMOPIPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emopipe}"

log() { printf '\033[1;34m[emopipe]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[emopipe] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Run a command as root (directly, or through sudo when we are not root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install sudo or run as root)"; fi
}

_APT_UPDATED=0
# apt_install PKG... : install Debian packages that are missing (idempotent).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
  if [ "$_APT_UPDATED" -eq 0 ]; then log "apt-get update"; as_root apt-get update -qq; _APT_UPDATED=1; fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

java_major() { java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'; }

ensure_java() {
  if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then apt_install openjdk-17-jre-headless; fi
  command -v java >/dev/null || die "java 17+ not available after install"
}

ensure_maven() { command -v mvn >/dev/null || apt_install maven; }

ensure_redis() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server; }

# wait_for_line FILE PATTERN TIMEOUT_S PID : wait until PATTERN appears in FILE, the process dies, or time runs out.
wait_for_line() {
  local file="$1" pattern="$2" timeout_s="$3" pid="$4" waited=0
  while ! grep -q "$pattern" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then return 2; fi
    if [ "$waited" -ge $((timeout_s * 10)) ]; then return 1; fi
    sleep 0.1; waited=$((waited + 1))
  done
}

# stop_pid PIDFILE NAME : SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local pidfile="$1" name="$2" pid i
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 30 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
}
