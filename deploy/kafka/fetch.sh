#!/usr/bin/env bash
# Fetches the pinned Apache Kafka broker's runtime jars with Maven (pom.xml beside this
# script) into a cache outside the repository and prints that directory, for
#   java -cp "$(deploy/kafka/fetch.sh)/*" kafka.Kafka ...
# Maven runs only while the cache lacks a stamp matching pom.xml; afterwards this is a
# file check and needs no network. Concurrent callers are serialised with flock.
#
# Environment:
#   TIDEWATCH_KAFKA_CACHE          cache root (default ${XDG_CACHE_HOME:-~/.cache}/tidewatch)
#   TIDEWATCH_KAFKA_FETCH_TIMEOUT  seconds Maven may take (default 900)
#   MAVEN_OPTS                     passed through (default -Xmx512m)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/pom.xml"

version=$(sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$pom" | head -n1)
[[ -n $version ]] || { echo "fetch.sh: no <kafka.version> in $pom" >&2; exit 1; }

cache_root=${TIDEWATCH_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tidewatch}
cache="$cache_root/kafka-$version"
libs="$cache/libs"
stamp_name=.tidewatch-complete
want=$(sha256sum "$pom" | cut -d' ' -f1)

complete() { [[ -f $libs/$stamp_name && $(<"$libs/$stamp_name") == "$want" ]]; }

if complete; then
  echo "$libs"
  exit 0
fi

for tool in java mvn; do
  command -v "$tool" >/dev/null || {
    echo "fetch.sh: '$tool' not found; run deploy/install-deps.sh" >&2
    exit 1
  }
done

mkdir -p "$cache"
timeout_s=${TIDEWATCH_KAFKA_FETCH_TIMEOUT:-900}
exec 9>"$cache/.lock"
flock -w "$((timeout_s + 60))" 9 || { echo "fetch.sh: timed out waiting for $cache/.lock" >&2; exit 1; }

if complete; then # another process finished the fetch while we waited
  echo "$libs"
  exit 0
fi

tmp="$cache/libs.tmp.$$"
log="$cache/fetch.log"
rm -rf "$tmp"
export MAVEN_OPTS=${MAVEN_OPTS:--Xmx512m}
if ! timeout "$timeout_s" mvn -q -B -ntp -Dstyle.color=never -f "$pom" \
    -Dkafka.cache="$cache" -Dkafka.libs="$tmp" package >"$log" 2>&1; then
  echo "fetch.sh: Maven failed or took over ${timeout_s}s; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  rm -rf "$tmp"
  exit 1
fi

for jar in "kafka_2.13-$version.jar" "kafka-tools-$version.jar" "kafka-clients-$version.jar" \
           "kafka-raft-$version.jar" "kafka-metadata-$version.jar"; do
  [[ -f $tmp/$jar ]] || { echo "fetch.sh: $jar missing after Maven ran (see $log)" >&2; rm -rf "$tmp"; exit 1; }
done
ls "$tmp"/slf4j-reload4j-*.jar >/dev/null 2>&1 || { echo "fetch.sh: no SLF4J binding fetched" >&2; rm -rf "$tmp"; exit 1; }

echo "$want" >"$tmp/$stamp_name"
rm -rf "$libs" "$cache/target"
mv "$tmp" "$libs"
echo "$libs"
