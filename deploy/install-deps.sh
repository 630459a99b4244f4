#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of tidewatch from Debian 12
# packages. Idempotent: packages already present are skipped, so a second run costs a
# dpkg query and nothing else. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  python3                           # end-to-end test drivers (tests/e2e), benchmark scripts
  clang libclang-rt-14-dev          # sanitizers (TSan/ASan/UBSan) and libFuzzer
  librdkafka-dev                    # Kafka consumer/producer
  libboost-dev                      # Asio, Beast, lockfree (benchmark peer)
  libssl-dev                        # HTTPS webhooks (Boost.Asio SSL)
  libsqlite3-dev                    # rule catalog, alert state, outbox
  libtomlplusplus-dev               # the daemon's TOML config (header-only)
  zlib1g-dev                        # gzip request bodies on HTTP /write
  nlohmann-json3-dev                # JSON of the rules/alerts API and notifications (header-only)
  libspdlog-dev                     # logging
  libgtest-dev libgmock-dev         # unit tests
  libbenchmark-dev                  # benchmarks
  libconcurrentqueue-dev            # moodycamel::ConcurrentQueue, benchmark peer only
  # local Kafka broker for integration tests and the quickstart (deploy/kafka/):
  openjdk-17-jre-headless           # runs the broker (Kafka 3.9 on Java 17)
  maven                             # fetches the broker's jars once (deploy/kafka/pom.xml)
  kcat                              # producer/consumer/inspector in tests
  influxdb-client                   # the real `influx` CLI, driven against tidewatchd in tests
  prometheus                        # promtool, which checks our /metrics output in tests
  influxdb                          # InfluxDB 1.x, the peer of the HTTP API benchmark
  prometheus-alertmanager           # the real Alertmanager that receives alerts in tests
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
