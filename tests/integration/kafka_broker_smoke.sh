#!/usr/bin/env bash
# Smoke test of the local Kafka broker scripts (deploy/kafka/): start a single-node KRaft
# broker on a free loopback port, create a 3-partition topic, produce 100 keyed messages
# with kcat, consume them back, compare, stop the broker, and check that its process is
# gone and its directory removed. Every step is bounded in time; an EXIT trap stops the
# broker whatever happens. Ends with one line: "kafka_broker_smoke: PASS ..." or
# "kafka_broker_smoke: FAIL: reason"; exits 0 or 1.
# Needs java and kcat (deploy/install-deps.sh); the first run fetches the broker's jars.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kafka="$root/deploy/kafka"
name=kafka_broker_smoke
topic=smoke
messages=100

pid='' passed=0 reason="unexpected error"
work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")

fail() {
  reason=$*
  exit 1
}

finish() {
  local status=$?
  trap - EXIT INT TERM
  # start.sh makes its directory under $work (TMPDIR below), so a broker is found here
  # even when the test is stopped before start.sh has printed where it is.
  local d
  for d in "$work"/tidewatch-kafka.*; do
    [[ -d $d ]] && { "$kafka/stop.sh" --dir "$d" --timeout 20 >&2 || true; }
  done
  rm -rf "$work"
  if ((passed && status == 0)); then
    echo "$name: PASS ($summary)"
  else
    echo "$name: FAIL: $reason"
    exit 1
  fi
}
trap finish EXIT
trap 'fail "interrupted"' INT TERM

for tool in java kcat timeout; do
  command -v "$tool" >/dev/null || fail "'$tool' not found; run deploy/install-deps.sh"
done

# 1. The jars (Maven only on the first run; fetch.sh bounds it).
"$kafka/fetch.sh" >/dev/null || fail "fetching the broker's jars failed"

# 2. Start on free ports; start.sh waits (bounded) until the broker answers.
t0=$(date +%s%N)
out=$(TMPDIR=$work timeout 120 "$kafka/start.sh" --timeout 90) || fail "start.sh failed"
start_ms=$((($(date +%s%N) - t0) / 1000000))
brokers=$(sed -n 's/^KAFKA_BROKERS=//p' <<<"$out")
eval "$(grep '^KAFKA_DIR=' <<<"$out")"
dir=$KAFKA_DIR
[[ $brokers =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "start.sh printed no KAFKA_BROKERS line: $out"
[[ -d $dir && -f $dir/broker.pid ]] || fail "start.sh printed no usable KAFKA_DIR: $out"
pid=$(<"$dir/broker.pid")
kill -0 "$pid" 2>/dev/null || fail "broker process $pid is not running after start"

# 3. A 3-partition topic (create-topic.sh waits until every partition has a leader).
timeout 90 "$kafka/create-topic.sh" "$topic" --partitions 3 --brokers "$brokers" ||
  fail "create-topic.sh failed"
nparts=$(kcat -b "$brokers" -L -t "$topic" -m 10 -q | sed -n "s/^ *topic \"$topic\" with \([0-9]*\) partitions:.*/\1/p")
[[ $nparts == 3 ]] || fail "topic '$topic' has '${nparts}' partitions, expected 3"

# 4. Produce 100 keyed messages (distinct keys, so they spread over the partitions).
for ((i = 0; i < messages; i++)); do
  printf 'sensor-%03d\tvalue-%03d\n' "$i" "$i"
done >"$work/sent"
timeout 60 kcat -P -b "$brokers" -t "$topic" -K $'\t' -X acks=all <"$work/sent" ||
  fail "kcat could not produce to $brokers"

# 5. Consume everything back from the beginning; -e exits at the end of every partition.
timeout 60 kcat -C -b "$brokers" -t "$topic" -o beginning -e -q -f '%p\t%k\t%s\n' \
  >"$work/received" || fail "kcat could not consume from $brokers"
got=$(wc -l <"$work/received")
((got == messages)) || fail "consumed $got messages, expected $messages"
cut -f2,3 "$work/received" | sort | cmp -s - "$work/sent" ||
  fail "consumed messages differ from the produced ones"
used=$(cut -f1 "$work/received" | sort -u | wc -l)
((used == 3)) || fail "messages landed in $used partitions, expected all 3"
# Each key stays on one partition.
dup=$(cut -f1,2 "$work/received" | sort -u | cut -f2 | uniq -d | head -n1)
[[ -z $dup ]] || fail "key $dup was found on more than one partition"

# 6. Stop: the process must be gone and the directory removed.
timeout 60 "$kafka/stop.sh" --dir "$dir" || fail "stop.sh failed"
if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q kafka.Kafka; then
  fail "broker process $pid still running after stop.sh"
fi
[[ ! -e $dir ]] || fail "broker directory $dir still exists after stop.sh"

passed=1
summary="broker ready in ${start_ms} ms; $messages messages over 3 partitions round-tripped"
