#!/usr/bin/env bash
# README command 1: tidewatchd on a fresh Debian 12 machine, no Kafka needed.
#   1. installs the dependencies (deploy/install-deps.sh, idempotent);
#   2. builds a Release tidewatchd (tests off) under build/quickstart
#      (or $TIDEWATCH_BUILD_ROOT/quickstart);
#   3. prints where to look, then runs tidewatchd in the foreground with
#      deploy/examples/quickstart.toml: the plant simulator with an hour of history, the
#      InfluxDB 1.x API on 127.0.0.1:8086. Ctrl-C stops it (with a final snapshot).
#
# usage: deploy/quickstart.sh [KAFKA_BROKERS]
#   KAFKA_BROKERS (or $TIDEWATCH_KAFKA_BROKERS), e.g. 127.0.0.1:9092: also consume line
#   protocol from topic "sensors" of that broker into database "kafka"
#   (deploy/kafka/start.sh runs a local broker).
#   $TIDEWATCH_PORT: listen on this port instead of 8086 (the script also moves to the
#   next free port by itself when 8086 is taken, e.g. by an InfluxDB service).
# Data (snapshots) goes to tidewatch-data/ in the build directory (tidewatch-data-PORT/
# on another port).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${TIDEWATCH_BUILD_ROOT:-$root/build}/quickstart"
brokers="${1:-${TIDEWATCH_KAFKA_BROKERS:-}}"
config="$root/deploy/examples/quickstart.toml"

if [[ -n $brokers && ! $brokers =~ ^[][A-Za-z0-9.:,_-]+$ ]]; then
  echo "quickstart: KAFKA_BROKERS must look like host:port[,host:port...], got '$brokers'" >&2
  exit 2
fi

"$root/deploy/install-deps.sh"

echo "quickstart: building tidewatchd (Release) in $build; the first build takes a few minutes"
mkdir -p "$build"
if ! { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
         -DTIDEWATCH_BUILD_TESTS=OFF &&
       cmake --build "$build" --target tidewatchd -j "$(nproc)"; } >"$build/build.log" 2>&1; then
  tail -n 40 "$build/build.log" >&2
  echo "quickstart: the build failed; the whole log is $build/build.log" >&2
  exit 1
fi

# Whether something accepts connections on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port="${TIDEWATCH_PORT:-8086}"
if [[ -z ${TIDEWATCH_PORT:-} ]]; then
  while port_taken "$port" && ((port < 8096)); do port=$((port + 1)); done
fi

# A derived config when the port or a Kafka source differ from the example's. Another
# port gets its own data directory, so a second quickstart never shares snapshots.
data=tidewatch-data
if [[ $port != 8086 ]]; then data=tidewatch-data-$port; fi
if [[ $port != 8086 || -n $brokers ]]; then
  derived="$build/quickstart-$port.toml"
  sed -e "s/^listen = \"127.0.0.1:8086\"/listen = \"127.0.0.1:$port\"/" \
    -e "s|^data_dir = \"./tidewatch-data\"|data_dir = \"./$data\"|" "$config" >"$derived"
  if ! grep -q "^listen = \"127.0.0.1:$port\"" "$derived" ||
     ! grep -q "^data_dir = \"./$data\"" "$derived"; then
    echo "quickstart: $config changed shape; could not derive $derived" >&2
    exit 1
  fi
  if [[ -n $brokers ]]; then
    cat >>"$derived" <<EOF

# Added by deploy/quickstart.sh for KAFKA_BROKERS=$brokers.
[[kafka]]
brokers = "$brokers"
group_id = "tidewatch-quickstart"
topics = ["sensors"]
format = "line"
database = "kafka"
precision = "ns"
EOF
  fi
  config="$derived"
fi

cat <<EOF

tidewatchd $("$build/daemon/tidewatchd" --version | cut -d' ' -f2) on http://127.0.0.1:$port   config: $config
data: $build/$data   metrics: http://127.0.0.1:$port/metrics

Try, from another terminal:
  influx -host 127.0.0.1 -port $port -execute 'SHOW DATABASES'
  influx -host 127.0.0.1 -port $port -database plant -precision rfc3339 \\
    -execute 'SELECT mean(value) FROM pressure WHERE time > now() - 10m GROUP BY time(1m), site'
  curl -sG http://127.0.0.1:$port/query --data-urlencode db=plant \\
    --data-urlencode "q=SELECT max(value) FROM temperature WHERE time > now() - 1h GROUP BY time(10m) LIMIT 3"
  curl -si -XPOST 'http://127.0.0.1:$port/write?db=lab' --data-binary 'tank,site=lab level=0.75'
  curl -s http://127.0.0.1:$port/metrics | grep tidewatch_store_
EOF
if [[ -n $brokers ]]; then
  cat <<EOF
Kafka: line protocol on topic "sensors" of $brokers lands in database "kafka", e.g.
  echo 'flow,site=k1 value=3.5' | kcat -P -b $brokers -t sensors
EOF
fi
cat <<EOF
Queries: docs/QUERY.md. Options: docs/CONFIG.md. Ctrl-C stops tidewatchd.

EOF

cd "$build"
exec "$build/daemon/tidewatchd" --config "$config"
