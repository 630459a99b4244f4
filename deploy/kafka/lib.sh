# Shared helpers for deploy/kafka/*.sh. Sourced, not run.
# shellcheck shell=bash

kafka_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Marker file that identifies a broker directory made by start.sh; stop.sh removes only
# directories that carry it.
# shellcheck disable=SC2034 # used by the scripts that source this file
kafka_marker=.tidewatch-kafka

kafka_die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# JVM options for the short-lived command-line classes: small heap, quick start.
kafka_tool_jvm_opts=(-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Djava.awt.headless=true "-Dlog4j.configuration=file:$kafka_here/log4j-tools.properties")

# kafka_libs: prints the directory of the broker's jars, fetching them on first use.
kafka_libs() {
  "$kafka_here/fetch.sh"
}

# kafka_tool LIBS MAIN_CLASS ARGS...: runs a Kafka command-line class.
kafka_tool() {
  local libs=$1
  shift
  java "${kafka_tool_jvm_opts[@]}" -cp "$libs/*" "$@"
}

# kafka_port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
kafka_port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Htan "sport = :$port" 2>/dev/null) ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# kafka_pick_port [EXCLUDED...]: prints a free port below the kernel's ephemeral range
# (20000-31999), so that it does not collide with outgoing connections either.
kafka_pick_port() {
  local port tries excluded skip
  for ((tries = 0; tries < 100; tries++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    skip=0
    for excluded in "$@"; do [[ $port == "$excluded" ]] && skip=1; done
    ((skip)) && continue
    kafka_port_in_use "$port" || { echo "$port"; return 0; }
  done
  kafka_die "no free port found in 100 tries"
}

# kafka_broker_pid DIR: prints the pid of the broker running from DIR, if there is one.
# A pid is only believed while its command line still names DIR's server.properties,
# so a recycled pid (or an exited, not yet reaped process) never counts.
kafka_broker_pid() {
  local dir=$1 pid cmdline
  [[ -f $dir/broker.pid ]] || return 1
  pid=$(<"$dir/broker.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka*"$dir/server.properties"* ]] || return 1
  echo "$pid"
}

# kafka_env_value DIR NAME: prints NAME's value from DIR/broker.env (written by start.sh).
kafka_env_value() {
  local dir=$1 name=$2
  [[ -f $dir/broker.env ]] || return 1
  sed -n "s/^$name=//p" "$dir/broker.env" | head -n1
}
