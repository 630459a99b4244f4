#!/usr/bin/env bash
# Starts tidewatchd and InfluxDB 1.x (influxd) side by side on 127.0.0.1, each with a
# generated config in a fresh temporary directory, runs tests/bench/influx_compare.py
# against both, and stops both servers (removing the directory) afterwards, also on
# failure or Ctrl-C. Builds nothing.
#
# usage: influx_compare.sh TIDEWATCHD_BINARY [influx_compare.py options...]
#   e.g. tests/bench/influx_compare.sh build/bench/daemon/tidewatchd --json out.json
# Environment: INFLUXD (default: influxd on PATH), INFLUX_COMPARE_KEEP=1 keeps the
# directory (logs, data) for inspection.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tidewatchd=${1:?usage: influx_compare.sh TIDEWATCHD_BINARY [options...]}
shift
influxd=${INFLUXD:-$(command -v influxd || true)}
[[ -x $tidewatchd ]] || { echo "influx_compare.sh: $tidewatchd is not executable" >&2; exit 1; }
[[ -x $influxd ]] || { echo "influx_compare.sh: influxd not found (set INFLUXD)" >&2; exit 1; }

dir=$(mktemp -d /tmp/influx-compare.XXXXXX)
tw_pid="" ix_pid=""
cleanup() {
  for pid in $tw_pid $ix_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $tw_pid $ix_pid; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ ${INFLUX_COMPARE_KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# Three free ports on 127.0.0.1 (the kernel picks them; a race with another process
# taking one before the servers bind is possible but makes the start fail loudly).
read -r tw_port ix_port ix_rpc_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

mkdir -p "$dir/tidewatch" "$dir/influx"
cat >"$dir/tidewatch.toml" <<EOF
[log]
level = "warn"

[http]
listen = "127.0.0.1:$tw_port"
threads = 2
max_body = "64MiB"
read_timeout = "60s"
write_timeout = "60s"
write_wait = "60s"
idle_timeout = "1h"

[query]
timeout = "600s"
max_buckets = 100000000
max_series = 1000000
max_rows = 100000000
threads = 2

[storage]
data_dir = "$dir/tidewatch"
retention = "8760h"
max_series = 1000000
memory_budget = "8GiB"
checkpoint_interval = "1h"

[ingest]
workers = 2
EOF

cat >"$dir/influx.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$ix_rpc_port"

[meta]
  dir = "$dir/influx/meta"
  logging-enabled = false

[data]
  dir = "$dir/influx/data"
  wal-dir = "$dir/influx/wal"
  query-log-enabled = false
  cache-max-memory-size = "8g"
  max-series-per-database = 0
  max-values-per-tag = 0

[coordinator]
  query-timeout = "0s"
  max-select-point = 0
  max-select-series = 0
  max-select-buckets = 0

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:$ix_port"
  log-enabled = false
  max-body-size = 0
  max-row-limit = 0

[continuous_queries]
  enabled = false
EOF

"$tidewatchd" --config "$dir/tidewatch.toml" >"$dir/tidewatch.log" 2>&1 &
tw_pid=$!
"$influxd" run -config "$dir/influx.conf" >"$dir/influx.log" 2>&1 &
ix_pid=$!

wait_ping() {  # name port pid
  for _ in $(seq 300); do
    if python3 -c "import http.client,sys; c=http.client.HTTPConnection('127.0.0.1',$2,timeout=1); c.request('GET','/ping'); sys.exit(c.getresponse().status != 204)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$3" 2>/dev/null || { echo "$1 exited; log:" >&2; tail -20 "$dir/$1.log" >&2; return 1; }
    sleep 0.1
  done
  echo "$1 did not answer /ping within 30 s; log:" >&2; tail -20 "$dir/$1.log" >&2; return 1
}
wait_ping tidewatch "$tw_port" "$tw_pid"
wait_ping influx "$ix_port" "$ix_pid"
echo "tidewatchd $("$tidewatchd" --version 2>/dev/null || echo '?') pid $tw_pid on :$tw_port;" \
     "$("$influxd" version 2>/dev/null) pid $ix_pid on :$ix_port; dir $dir"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
python3 "$here/influx_compare.py" --tidewatch "127.0.0.1:$tw_port" --influx "127.0.0.1:$ix_port" \
  --tidewatch-pid "$tw_pid" --influx-pid "$ix_pid" "$@" || status=$?
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RSS after: tidewatchd $(awk '/VmRSS/{print $2, $3}' /proc/$tw_pid/status)," \
     "influxd $(awk '/VmRSS/{print $2, $3}' /proc/$ix_pid/status)"
exit $status
