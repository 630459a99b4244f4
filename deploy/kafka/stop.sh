#!/usr/bin/env bash
# Stops a broker started by deploy/kafka/start.sh and removes its directory.
#
# usage: stop.sh [--dir D] [--keep] [--timeout SECONDS]
#   --dir      the broker directory (default: $KAFKA_DIR, as printed by start.sh)
#   --keep     keep the directory (data and logs); start.sh --dir D restarts on it
#   --timeout  seconds to wait after SIGTERM before SIGKILL (default 30)
# Idempotent: a directory that is already gone, or a broker that is not running, is fine.
set -euo pipefail

# shellcheck source=deploy/kafka/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=${KAFKA_DIR:-} keep=0 timeout_s=30
while (($#)); do
  case $1 in
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --keep) keep=1; shift ;;
    --timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) kafka_die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $timeout_s =~ ^[0-9]+$ ]] || kafka_die "not a number: '$timeout_s'"
[[ -n $dir ]] || kafka_die "no broker directory: pass --dir or set KAFKA_DIR"
[[ -d $dir ]] || exit 0
dir=$(cd "$dir" && pwd -P)
[[ -e $dir/$kafka_marker ]] || kafka_die "$dir was not made by start.sh; not touching it"

# wait_gone SECONDS: true once the broker process has exited (or is an unreaped zombie).
wait_gone() {
  local deadline=$((SECONDS + $1))
  while kafka_broker_pid "$dir" >/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

if pid=$(kafka_broker_pid "$dir"); then
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$timeout_s"; then
    echo "stop.sh: broker $pid still running ${timeout_s}s after SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone 10 || kafka_die "broker $pid survived SIGKILL"
  fi
fi
rm -f "$dir/broker.pid"

if ((!keep)); then
  rm -rf -- "$dir"
fi
