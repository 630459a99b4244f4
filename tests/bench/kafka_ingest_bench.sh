#!/usr/bin/env bash
# Runs tests/bench/kafka_ingest_bench against a fresh local broker (deploy/kafka/start.sh)
# and stops the broker (removing its directory) afterwards, also on failure or Ctrl-C.
#
# usage: kafka_ingest_bench.sh BENCH_BINARY [bench options...]
#   e.g. tests/bench/kafka_ingest_bench.sh build/bench/tests/bench/kafka_ingest_bench --rounds 3
# --brokers and --broker-pid are appended after BENCH_BINARY's own arguments, so a
# wrapper works too: kafka_ingest_bench.sh perf record -g -- BINARY. See
# kafka_ingest_bench.cc for the options.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kafka=$here/../../deploy/kafka
bench=${1:?usage: kafka_ingest_bench.sh BENCH_BINARY [options...]}
shift
command -v "$bench" >/dev/null || { echo "kafka_ingest_bench.sh: $bench is not executable" >&2; exit 1; }

env_out=$("$kafka/start.sh" --timeout 120)
brokers=$(sed -n 's/^KAFKA_BROKERS=//p' <<<"$env_out")
dir=$(sed -n 's/^KAFKA_DIR=//p' <<<"$env_out")
[[ -n $brokers && -n $dir ]] || { echo "start.sh printed: $env_out" >&2; exit 1; }
trap '"$kafka/stop.sh" --dir "$dir" --timeout 30' EXIT
echo "broker $brokers in $dir ($(cat "$dir/started" 2>/dev/null))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$bench" "$@" --brokers "$brokers" --broker-pid "$(cat "$dir/broker.pid")"

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
