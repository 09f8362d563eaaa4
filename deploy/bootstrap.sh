#!/usr/bin/env bash
# Install everything emopipe needs, idempotently (a second run takes seconds):
#   Debian packages (python3-venv if needed, a Java 17+ runtime, Maven, redis-server, chromium + chromium-driver),
#   the virtualenv .venv with emopipe and its Python dependencies (re-installed only when pyproject.toml changes),
#   the Kafka 4.x jars from Maven Central (cached in ~/.cache/emopipe), and the deploy checkers (deploy/tools.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EMOPIPE_ROOT"

PY="${EMOPIPE_PYTHON:-python3}"
command -v "$PY" >/dev/null || apt_install python3 python3-venv
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "emopipe needs Python >= 3.11 ($PY is $("$PY" -V 2>&1)); set EMOPIPE_PYTHON to a newer interpreter"
"$PY" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv

ensure_java
ensure_maven
ensure_redis
# headless browser for the dashboard's browser test (tests/integration/test_dashboard_browser.py)
apt_install chromium chromium-driver

venv="$EMOPIPE_ROOT/.venv"
stamp="$venv/.emopipe-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x "$venv/bin/python" ]; then
  log "creating virtualenv $venv"
  "$PY" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python packages into .venv (first run downloads torch, ~3 GB: several minutes)"
  t0=$(date +%s)
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q --progress-bar off -e ".[dev,lsl,brainflow]"
  echo "$want" > "$stamp"
  log "Python packages installed in $(( $(date +%s) - t0 )) s"
else
  log "Python packages up to date (.venv)"
fi
bash "$EMOPIPE_ROOT/deploy/kafka/fetch.sh" >/dev/null
# helm, kubeconform, hadolint, composecheck, Strimzi's API model: for the chart / image / compose checks
bash "$EMOPIPE_ROOT/deploy/tools.sh"
log "setup complete"
