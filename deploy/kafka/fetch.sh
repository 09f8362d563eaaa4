#!/usr/bin/env bash
# Fetch the Kafka broker jars listed in deploy/kafka/pom.xml from Maven Central (once; cached outside git).
# Prints the directory holding the jars. Env: EMOPIPE_CACHE (default ~/.cache/emopipe).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
pom="$EMOPIPE_ROOT/deploy/kafka/pom.xml"
key="$(sha256sum "$pom" | cut -c1-12)"
lib="$EMOPIPE_CACHE/kafka-lib-$key"
if [ ! -f "$lib/.complete" ]; then
  ensure_java; ensure_maven
  log "fetching Kafka jars with Maven into $lib"
  rm -rf "$lib.tmp"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib.tmp" >&2 \
    || die "maven could not fetch the Kafka jars (see output above)"
  ls "$lib.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka_2.13 jar missing after maven run"
  rm -rf "$lib"; mv "$lib.tmp" "$lib"; touch "$lib/.complete"
fi
echo "$lib"
