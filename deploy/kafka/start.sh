#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft, combined broker + controller) on
# 127.0.0.1 and waits until it answers. Prints, for eval:
#   KAFKA_BROKERS=127.0.0.1:PORT
#   KAFKA_DIR=DIR
# Everything lives in DIR: server.properties, data/ (log.dirs), broker.log, broker.pid.
# Stop it with deploy/kafka/stop.sh --dir DIR.
#
# usage: start.sh [--port N] [--controller-port M] [--dir D] [--timeout SECONDS]
#   --port             client (PLAINTEXT) port; default: a free one
#   --controller-port  KRaft controller port; default: a free one
#   --dir              broker directory; default: a new mktemp -d. If a broker from D is
#                      already running, its address is printed and nothing else is done;
#                      a stopped one (stop.sh --keep) restarts on its data.
#   --timeout          seconds to wait for the broker to answer (default 60, or
#                      $TIDEWATCH_KAFKA_START_TIMEOUT)
# Environment: TIDEWATCH_KAFKA_HEAP (default "-Xms128m -Xmx512m"),
#              TIDEWATCH_KAFKA_JVM_OPTS (extra JVM options for the broker).
set -euo pipefail

# shellcheck source=deploy/kafka/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port='' cport='' dir='' timeout_s=${TIDEWATCH_KAFKA_START_TIMEOUT:-60}
while (($#)); do
  case $1 in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --controller-port) cport=${2:?--controller-port needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) kafka_die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in "$port" "$cport" "$timeout_s"; do
  [[ -z $v || $v =~ ^[0-9]+$ ]] || kafka_die "not a number: '$v'"
done
[[ -z $port || $port != "$cport" ]] || kafka_die "--port and --controller-port must differ"
command -v java >/dev/null || kafka_die "java not found; run deploy/install-deps.sh"
user_port=$port user_cport=$cport

libs=$(kafka_libs)

print_env() {
  printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$1"
  printf 'KAFKA_DIR=%q\n' "$dir"
}

created_dir=0
if [[ -z $dir ]]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/tidewatch-kafka.XXXXXX")
  created_dir=1
  touch "$dir/$kafka_marker"
else
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [[ ! -e $dir/$kafka_marker ]]; then
    [[ -z $(ls -A "$dir") ]] || kafka_die "$dir is not empty and was not made by start.sh"
    touch "$dir/$kafka_marker"
  fi
  if kafka_broker_pid "$dir" >/dev/null; then # already running: idempotent
    print_env "$(kafka_env_value "$dir" KAFKA_PORT)"
    exit 0
  fi
  # A stopped broker restarts on the ports it had, unless told otherwise or now taken.
  [[ -n $port ]] || port=$(kafka_env_value "$dir" KAFKA_PORT || true)
  [[ -n $cport ]] || cport=$(kafka_env_value "$dir" KAFKA_CONTROLLER_PORT || true)
fi

# On failure before the broker answers: stop what was started, report, clean up.
pid=
fail() {
  echo "start.sh: $*" >&2
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [[ -f $dir/broker.log ]]; then
    if grep -q -E '^\[[^]]*\] (ERROR|FATAL) ' "$dir/broker.log"; then
      echo "start.sh: first errors in $dir/broker.log:" >&2
      grep -m 5 -A 2 -E '^\[[^]]*\] (ERROR|FATAL) ' "$dir/broker.log" >&2
    fi
    echo "start.sh: last lines of $dir/broker.log:" >&2
    tail -n 15 "$dir/broker.log" >&2
  fi
  rm -f "$dir/broker.pid"
  if ((created_dir)); then rm -rf "$dir"; fi
  exit 1
}

write_config() {
  cat >"$dir/server.properties" <<EOF
# Written by deploy/kafka/start.sh: single-node KRaft broker + controller on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
# A shared 2-core machine: few threads.
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.cleaner.threads=1
EOF
  cat >"$dir/broker.env" <<EOF
KAFKA_BROKERS=127.0.0.1:$port
KAFKA_DIR=$dir
KAFKA_PORT=$port
KAFKA_CONTROLLER_PORT=$cport
EOF
}

# Format the storage once. The cluster id has the form of Kafka's Uuid.randomUuid()
# (16 random bytes, URL-safe base64 without padding, not starting with '-'); making it
# here saves a JVM start over `StorageTool random-uuid`. StorageTool validates it.
format_storage() {
  [[ -f $dir/data/meta.properties ]] && return 0
  local id
  for ((;;)); do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* || $id == AAAAAAAAAAAAAAAAAAAAA[AQ] ]] || break
  done
  if ! kafka_tool "$libs" kafka.tools.StorageTool format -t "$id" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    fail "formatting $dir/data failed"
  fi
}

# ready: the broker logged that it started and answers a metadata request.
ready() {
  grep -q 'Kafka Server started' "$dir/broker.log" 2>/dev/null || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "127.0.0.1:$port" -L -m 5 -q 2>/dev/null | grep -q '^ *broker 1 at 127.0.0.1:'"$port"
  else
    kafka_port_in_use "$port"
  fi
}

heap=${TIDEWATCH_KAFKA_HEAP:--Xms128m -Xmx512m}
# shellcheck disable=SC2206 # word lists on purpose
jvm_opts=($heap -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$kafka_here/log4j-broker.properties"
  "-Dkafka.logs.dir=$dir" ${TIDEWATCH_KAFKA_JVM_OPTS:-})

for p in $user_port $user_cport; do
  ! kafka_port_in_use "$p" || fail "port $p on 127.0.0.1 is already in use"
done
trap 'fail "interrupted"' INT TERM
start_ns=$(date +%s%N)
for ((attempt = 1; ; attempt++)); do
  # Ports not given on the command line are chosen free (a remembered one is kept
  # while it is still free).
  if [[ -z $user_port ]] && { [[ -z $port ]] || kafka_port_in_use "$port"; }; then
    port=$(kafka_pick_port "$cport")
  fi
  if [[ -z $user_cport ]] && { [[ -z $cport ]] || kafka_port_in_use "$cport"; }; then
    cport=$(kafka_pick_port "$port")
  fi
  write_config
  format_storage

  [[ ! -f $dir/broker.log ]] || mv -f "$dir/broker.log" "$dir/broker.log.prev"
  (cd "$dir" && exec java "${jvm_opts[@]}" -cp "$libs/*" kafka.Kafka "$dir/server.properties") \
    </dev/null >"$dir/broker.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/broker.pid"

  deadline=$((SECONDS + timeout_s))
  while ! ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      # Lost a race for an automatically chosen port: choose again (3 tries).
      if [[ -z $user_port || -z $user_cport ]] && ((attempt < 3)) &&
          grep -q 'BindException\|Address already in use' "$dir/broker.log"; then
        port=$user_port cport=$user_cport pid=
        continue 2
      fi
      fail "the broker exited during startup"
    fi
    ((SECONDS < deadline)) || fail "the broker did not answer within ${timeout_s}s"
    sleep 0.25
  done
  break
done

ms=$((($(date +%s%N) - start_ns) / 1000000))
echo "started in ${ms} ms" >"$dir/started"
print_env "$port"
