#!/usr/bin/env python3
"""The plant, end to end: a real Kafka broker (deploy/kafka), tidewatchd consuming line
protocol from it, a continuous query downsampling into a measurement that a kafka
channel produces to a topic, alert rules notifying a webhook (a receiver in this script)
and a real Alertmanager, and a scripted feed through kcat:

  phase 0  normal operation (pt-001, pt-002 and the flow meter ft-002 report)
  phase 1  pt-001 goes past its trip point (12 bar > 10) and holds it past `for`,
           and a burst of poison messages (malformed lines, an oversized message)
  phase 2  recovery; tidewatchd is killed (-9) right after this phase is produced, and
           restarted on the same data directory
  phase 3  normal again; ft-002 goes silent until its no-data alert arrives, then
           reports again

The pressure phases use event times in the past, 10 s per phase, each phase one bucket of
the CQ's GROUP BY time(10s); ft-002 reports every 250 ms at the wall clock, as a live
sensor does, from a kcat kept open.

Asserts:
  - the webhook receives exactly the expected notifications, once each by idempotency
    key (a key may arrive more than once only as a retry of the same body): high-pressure
    pt-001 firing and resolved, flow-stale ft-002 no-data firing and resolved;
  - Alertmanager's /api/v2/alerts shows each alert active with its labels while it
    fires, and not once it resolved;
  - the downsampled topic holds every expected bucket (last record per series and time,
    as a compacting consumer reads it) and no other;
  - the dead-letter topic holds every poison message (and nothing else);
  - the outbox ends with every row done.
The kill -9 in the middle must change none of this, whether the restarted daemon resumes
from a snapshot (test_replay_from_snapshot) or, with no checkpoint taken yet, consumes
the topic again from its beginning (test_replay_from_start). The two share one broker;
each has its own topics, consumer group, Alertmanager, receiver and daemon.

usage: plant_test.py TIDEWATCHD KCAT ALERTMANAGER
"""

import math
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

from tidewatch_harness import (Alertmanager, KafkaBroker, TidewatchDaemon, WebhookReceiver,
                               read_catalog, scaled, wait_until)

TIDEWATCHD = KCAT = ALERTMANAGER = None


S = 10**9
# Event time of phase 0: a whole minute ten minutes ago (inside the 1 h retention).
T0 = (int(time.time()) // 60 * 60 - 600) * S
PHASE_POINTS = 10  # one point per second per sensor, one 10 s bucket per phase
BASES = {  # the value of the first point of each phase; each next point adds 0.1
    "pt-001": [5.0, 12.0, 6.0, 5.0],
    "pt-002": [4.0, 4.0, 4.0, 4.0],
}
NO_DATA_AFTER_S = int(scaled(6))

CQ = ("CREATE CONTINUOUS QUERY cq_pressure_10s ON plant RESAMPLE EVERY 1s FOR 1m BEGIN"
      " SELECT mean(value) AS value INTO plant.pressure_10s FROM pressure"
      " GROUP BY time(10s), * END")

RULES = """
[[rule]]
name = "high-pressure"
db = "plant"
query = "SELECT value FROM pressure"
condition = ">"
for = "1s"
channels = ["ops-webhook", "am"]
[[rule.levels]]
name = "critical"
trip = 10.0
reset = 9.0
[rule.labels]
team = "process"
[rule.annotations]
summary = "{{ .Labels.sensor }} at {{ .Value }} bar"

[[rule]]
name = "flow-stale"
db = "plant"
query = "SELECT value FROM flow WHERE sensor = 'ft-002'"
condition = "<"
severity = "critical"
trip = 1.0
reset = 2.0
no_data_after = "%ds"
channels = ["ops-webhook", "am"]
[rule.labels]
team = "maintenance"
""" % NO_DATA_AFTER_S

CONFIG = """
[log]
level = "info"

[http]
listen = "127.0.0.1:{port}"

[storage]
data_dir = "{data_dir}"
retention = "1h"
checkpoint_interval = "%(checkpoint)s"

[rules]
file = "rules.toml"
tick_interval = "50ms"

[[kafka]]
brokers = "%(brokers)s"
group_id = "tidewatch-plant-%(run)s"
topics = ["%(sensors)s"]
format = "line"
database = "plant"
dead_letter_topic = "%(dead)s"
max_message_bytes = "4KiB"
drain_timeout = "2s"
[kafka.properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
"auto.commit.interval.ms" = "100"
"group.instance.id" = "tidewatch-plant-%(run)s"

[[channels]]
name = "ops-webhook"
kind = "webhook"
url = "%(webhook)s"
backoff_base = "100ms"
backoff_cap = "1s"
request_timeout = "2s"
lease = "5s"

[[channels]]
name = "am"
kind = "alertmanager"
url = "%(alertmanager)s"
resend_interval = "1s"
backoff_base = "100ms"
backoff_cap = "1s"
lease = "5s"

[[channels]]
name = "downsampled"
kind = "kafka"
brokers = "%(brokers)s"
topic = "%(downsampled)s"
continuous_queries = ["plant.cq_pressure_10s"]
"""

POISON = (["not line protocol %02d" % i for i in range(10)]
          + ["pressure,site=site1,sensor=pt-001 value=oops%02d" % i for i in range(10)]
          + ["pressure,site=site1,sensor=pt-001 value=1 12x%02d" % i for i in range(10)]
          + ["pressure,site=site1,sensor=pt-009,pad=%s value=1" % ("x" * 5000)])


def phase_lines(phase):
    lines = []
    for i in range(PHASE_POINTS):
        t = T0 + (phase * PHASE_POINTS + i) * S
        for sensor, bases in sorted(BASES.items()):
            lines.append("pressure,site=site1,sensor=%s value=%.1f %d"
                         % (sensor, bases[phase] + 0.1 * i, t))
    return lines


def expected_buckets():
    """{(series key, bucket time ns): mean} of the CQ's output."""
    buckets = {}
    for sensor, bases in BASES.items():
        for phase, base in enumerate(bases):
            mean = sum(base + 0.1 * i for i in range(PHASE_POINTS)) / PHASE_POINTS
            buckets[("pressure_10s,sensor=%s,site=site1" % sensor,
                     T0 + phase * PHASE_POINTS * S)] = mean
    return buckets


def parse_line(line):
    """(series key, {field: value}, time ns) of one line of CQ output."""
    series, fields, timestamp = line.split(" ")
    measurement, *tags = series.split(",")
    series = ",".join([measurement] + sorted(tags))
    values = {}
    for field in fields.split(","):
        name, value = field.split("=", 1)
        values[name] = float(value.rstrip("i"))
    return series, values, int(timestamp)


class Heartbeat(threading.Thread):
    """ft-002 reporting about every 250 ms at the wall clock while `reporting` is set."""

    def __init__(self, broker, topic):
        super().__init__(daemon=True)
        self.broker, self.topic = broker, topic
        self.error = None
        self.reporting = threading.Event()
        self.done = threading.Event()
        self.reporting.set()

    def run(self):
        while not self.done.is_set():
            if self.reporting.is_set():
                try:
                    self.broker.produce(self.topic, ["flow,site=site1,sensor=ft-002 value=50 %d"
                                                     % time.time_ns()])
                except AssertionError as e:
                    self.error = e
                    return
            self.done.wait(0.25)  # the sensor's sampling interval

    def stop(self):
        self.done.set()
        self.join(timeout=scaled(70))


class PlantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker_root = tempfile.mkdtemp(prefix="tidewatch-plant-kafka-")
        try:
            cls.broker = KafkaBroker(KCAT, cls.broker_root)
        except BaseException:
            shutil.rmtree(cls.broker_root, True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop()
        finally:
            shutil.rmtree(cls.broker_root, True)

    def setUp(self):
        self.started = time.monotonic()
        self.root = tempfile.mkdtemp(prefix="tidewatch-plant-")
        self.addCleanup(shutil.rmtree, self.root, True)
        # Each test its own topics (one partition each: one order) and consumer group.
        self.run_name = self._testMethodName[len("test_"):].replace("_", "-")
        self.sensors, self.dead, self.downsampled_topic = (
            "plant.%s.%s" % (self.run_name, t) for t in ("sensors", "dead", "downsampled"))
        self.broker.create_topics(self.sensors, self.dead, self.downsampled_topic, partitions=1)
        self.am = Alertmanager(ALERTMANAGER, self.root)
        self.addCleanup(self.am.stop)
        self.receiver = WebhookReceiver(mode="ok")
        self.addCleanup(self.receiver.stop)
        self.config = {"brokers": self.broker.brokers, "sensors": self.sensors,
                       "dead": self.dead, "downsampled": self.downsampled_topic,
                       "webhook": self.receiver.url, "alertmanager": self.am.url,
                       "run": self.run_name}
        self.daemon = None

    def start_daemon(self, checkpoint):
        self.config["checkpoint"] = checkpoint
        self.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG % self.config,
                                      os.path.join(self.root, "tw"))
        os.makedirs(self.daemon.root)
        with open(os.path.join(self.daemon.root, "rules.toml"), "w") as f:
            f.write(RULES)
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()

    # ---- observations ------------------------------------------------------------------

    def notifications(self):
        """{(rule, instance, kind, status): [idempotency keys, distinct]} at the webhook."""
        seen = {}
        for r in self.receiver.requests():
            body = r["body"]
            what = (body["rule"], body["instance"], body["kind"], body["status"])
            if r["key"] not in seen.setdefault(what, []):
                seen[what].append(r["key"])
        return seen

    def await_notification(self, what):
        wait_until(lambda: what in self.notifications(), 30,
                   "%s at the webhook (have %s)\n%s" % (what, self.notifications(),
                                                        self.daemon.log()[-4000:]))

    def am_alerts(self, alertname):
        return [a for a in self.am.alerts() if a["labels"].get("alertname") == alertname]

    def await_am(self, alertname, active, labels):
        def matches():
            alerts = self.am_alerts(alertname)
            if not active:
                return not alerts
            return (len(alerts) == 1 and alerts[0]["status"]["state"] == "active"
                    and all(alerts[0]["labels"].get(k) == v for k, v in labels.items()))

        wait_until(matches, 30, "Alertmanager showing %s %s %s (has %s)" % (
            alertname, "active" if active else "gone", labels, self.am.alerts()))

    def downsampled(self):
        """{(series, time): (last value, all values)} in the downsampled topic."""
        records = {}
        for message in self.broker.consume(self.downsampled_topic):
            for line in (message["payload"] or "").splitlines():
                if line.strip():
                    series, values, t = parse_line(line.strip())
                    old = records.get((series, t), (None, []))
                    records[(series, t)] = (values["value"], old[1] + [values["value"]])
        return records

    def buckets_match(self):
        got = self.downsampled()
        want = expected_buckets()
        return set(got) == set(want) and all(
            math.isclose(got[k][0], want[k], abs_tol=1e-9) for k in want)

    # ---- the test ----------------------------------------------------------------------

    def test_replay_from_snapshot(self):
        """Checkpoints every second: the restarted daemon restores the snapshot taken
        before the kill and consumes from the offsets it covers."""
        self.feed_and_check("1s")

    def test_replay_from_start(self):
        """No checkpoint before the kill: the restarted daemon starts empty and consumes
        the topic again from its beginning (every point, poison message and ft-002
        report seen twice)."""
        self.feed_and_check("1h")

    def feed_and_check(self, checkpoint):
        self.start_daemon(checkpoint)
        d, broker = self.daemon, self.broker
        for q in ["CREATE DATABASE plant", CQ]:
            status, body, _ = d.request("POST", "/query", {"q": q})
            self.assertEqual(status, 200, body)
            self.assertNotIn('"error"', body)
        heartbeat = Heartbeat(broker, self.sensors)
        heartbeat.start()
        self.addCleanup(heartbeat.stop)

        broker.produce(self.sensors, phase_lines(0))
        broker.produce(self.sensors, phase_lines(1))
        broker.produce(self.sensors, POISON)
        firing = ("high-pressure", "sensor=pt-001,site=site1", "alarm", "firing")
        self.await_notification(firing)
        self.await_am("high-pressure", True, {"sensor": "pt-001", "site": "site1",
                                              "severity": "critical", "team": "process"})

        broker.produce(self.sensors, phase_lines(2))
        d.kill()  # the recovery may or may not be consumed, its resolve committed or sent
        d.start(port=d.port)
        self.await_notification(firing[:3] + ("resolved",))
        self.await_am("high-pressure", False, {})

        broker.produce(self.sensors, phase_lines(3))
        heartbeat.reporting.clear()  # ft-002 goes silent
        stale = ("flow-stale", "sensor=ft-002,site=site1", "no_data", "firing")
        self.await_notification(stale)
        self.await_am("flow-stale", True, {"sensor": "ft-002", "site": "site1",
                                           "kind": "no_data", "team": "maintenance"})
        heartbeat.reporting.set()  # and comes back
        self.await_notification(stale[:3] + ("resolved",))
        self.await_am("flow-stale", False, {})

        wait_until(self.buckets_match, 30,
                   "the expected buckets in %s" % self.downsampled_topic, interval=0.5)
        wait_until(lambda: {m["payload"] for m in broker.consume(self.dead)} == set(POISON),
                   30, "the poison messages in %s" % self.dead, interval=0.5)
        pending = "SELECT channel, idempotency_key, attempts, last_error FROM outbox" \
                  " WHERE state != 'done'"
        try:
            wait_until(lambda: not read_catalog(d.data_dir, pending), 30, "every outbox row done")
        except AssertionError as e:
            raise AssertionError("%s: %s\n%s" % (e, read_catalog(d.data_dir, pending),
                                                 d.log()[-6000:]))

        # Exactly the expected alerts, each once by key; repeats of a key carry its body.
        seen = self.notifications()
        self.assertEqual(sorted(seen), sorted([firing, firing[:3] + ("resolved",),
                                               stale, stale[:3] + ("resolved",)]))
        for what, keys in seen.items():
            self.assertEqual(len(keys), 1, "%s arrived under keys %s" % (what, keys))
        bodies = {}
        for r in self.receiver.requests():
            # A rule with several channels has one outbox row per channel; the header
            # then carries the row's key, the body's key with "/<channel>" appended.
            self.assertIn(r["key"], (r["body"]["idempotency_key"],
                                     r["body"]["idempotency_key"] + "/ops-webhook"))
            self.assertEqual(bodies.setdefault(r["key"], r["body"]), r["body"], r["key"])
        webhook_rows = read_catalog(d.data_dir, "SELECT idempotency_key FROM outbox"
                                    " WHERE channel = 'ops-webhook'")
        self.assertEqual(sorted(k for (k,) in webhook_rows), sorted(bodies))
        self.assertEqual(read_catalog(d.data_dir, "SELECT count(*) FROM outbox_dead"), [(0,)])

        # Nothing else in Alertmanager is active: both alerts resolved.
        self.assertEqual([a for a in self.am.alerts() if a["status"]["state"] == "active"], [])
        # Every poison message dead-lettered, nothing else.
        self.assertEqual({m["payload"] for m in broker.consume(self.dead)}, set(POISON))

        self.assertIsNone(heartbeat.error)
        self.assertEqual(d.terminate(), 0, d.log())
        sys.stderr.write("%s: %.1f s\n" % (self.run_name, time.monotonic() - self.started))


if __name__ == "__main__":
    TIDEWATCHD, KCAT, ALERTMANAGER = sys.argv[1:4]
    del sys.argv[1:4]
    unittest.main()
