#!/usr/bin/env bash
# Creates topics on a broker started by deploy/kafka/start.sh, with Kafka's own
# org.apache.kafka.tools.TopicCommand from the fetched jars, and waits until the broker
# serves every partition (checked with kcat when it is installed). Idempotent: a topic
# that already exists with the asked partition count is left as it is.
#
# usage: create-topic.sh NAME... [--partitions N] [--config KEY=VALUE]...
#                                [--brokers HOST:PORT | --dir D]
#   --partitions  partitions per topic (default 3)
#   --config      a topic config, e.g. cleanup.policy=compact (repeatable)
#   --brokers     bootstrap address (default: from --dir, else $KAFKA_BROKERS, else $KAFKA_DIR)
#   --dir         a start.sh broker directory to read the address from
set -euo pipefail

# shellcheck source=deploy/kafka/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

topics=() partitions=3 configs=() brokers='' dir=''
while (($#)); do
  case $1 in
    --partitions) partitions=${2:?--partitions needs a value}; shift 2 ;;
    --config) configs+=(--config "${2:?--config needs a value}"); shift 2 ;;
    --brokers) brokers=${2:?--brokers needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) kafka_die "unknown option '$1' (see --help)" ;;
    *) topics+=("$1"); shift ;;
  esac
done
((${#topics[@]})) || kafka_die "no topic name given (see --help)"
[[ $partitions =~ ^[1-9][0-9]*$ ]] || kafka_die "not a partition count: '$partitions'"

if [[ -z $brokers && -n $dir ]]; then
  brokers=$(kafka_env_value "$dir" KAFKA_BROKERS) || kafka_die "$dir has no broker.env"
fi
brokers=${brokers:-${KAFKA_BROKERS:-}}
if [[ -z $brokers && -n ${KAFKA_DIR:-} ]]; then
  brokers=$(kafka_env_value "$KAFKA_DIR" KAFKA_BROKERS) || kafka_die "$KAFKA_DIR has no broker.env"
fi
[[ -n $brokers ]] || kafka_die "no broker: pass --brokers or --dir, or eval the output of start.sh"

libs=$(kafka_libs)
have_kcat=0
command -v kcat >/dev/null 2>&1 && have_kcat=1

# served TOPIC: prints the partition count once every partition of TOPIC has a leader.
served() {
  local md n
  md=$(kcat -b "$brokers" -L -t "$1" -m 5 -q 2>/dev/null) || return 1
  n=$(sed -n "s/^ *topic \"$1\" with \([0-9]*\) partitions:.*/\1/p" <<<"$md")
  [[ -n $n ]] || return 1
  [[ $(grep -c '^ *partition [0-9]*, leader [0-9]' <<<"$md") == "$n" ]] || return 1
  echo "$n"
}

for topic in "${topics[@]}"; do
  log=$(mktemp)
  if ! kafka_tool "$libs" org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" \
      --create --if-not-exists --topic "$topic" --partitions "$partitions" \
      --replication-factor 1 "${configs[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    kafka_die "creating topic '$topic' on $brokers failed"
  fi
  rm -f "$log"
  ((have_kcat)) || continue
  deadline=$((SECONDS + 30))
  until n=$(served "$topic"); do
    ((SECONDS < deadline)) || kafka_die "topic '$topic' not served by $brokers within 30s"
    sleep 0.2
  done
  [[ $n == "$partitions" ]] || kafka_die "topic '$topic' already exists with $n partitions, not $partitions"
done
