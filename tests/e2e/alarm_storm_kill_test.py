#!/usr/bin/env python3
"""kill -9 during an alarm storm, then a restart: no duplicate firing notification, no
lost resolve, and an audit log that agrees with the alert state.

200 series each flip between 100 and 0 every round (a rule trips at > 50), so every
acknowledged /write makes 200 alert transitions, each committed with its notification in
the outbox before the 204. The writer is killed (-9) in the middle of the storm, the
daemon restarts on the same data directory, the writer resends the round that was in
flight (at least once, as a client does) and goes on. Then, from the SQLite catalog:
  - every instance has exactly one notification per round, alternating firing/resolved
    (a duplicate firing or a lost resolve breaks the alternation or the count);
  - outbox sequences per instance are 1..n without gaps;
  - each audit row starts where the previous one ended, and the last one ends in the
    instance's stored state, which matches the last value written.

usage: alarm_storm_kill_test.py TIDEWATCHD
"""

import json
import os
import sqlite3
import sys
import threading
import unittest

from tidewatch_harness import TidewatchDaemon, base_config

TIDEWATCHD = None

SERIES = 200
ROUNDS = 40
KILL_AFTER_ROUND = 12
T0 = 1767225600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9

RULES = """
[[rule]]
name = "storm"
db = "storm"
query = "SELECT value FROM level"
condition = ">"
channels = ["hook"]
[[rule.levels]]
name = "critical"
trip = 50.0
reset = 50.0
"""

CONFIG = base_config("""
[rules]
file = "rules.toml"
tick_interval = "50ms"
""")


def value(series, rnd):
    return 100 if (series + rnd) % 2 == 0 else 0


def round_lines(rnd):
    return ["level,sensor=s%03d value=%d %d" % (i, value(i, rnd), T0 + rnd * S)
            for i in range(SERIES)]


class AlarmStormKillTest(unittest.TestCase):
    def setUp(self):
        self.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG)
        with open(os.path.join(self.daemon.root, "rules.toml"), "w") as f:
            f.write(RULES)
        self.addCleanup(self.daemon.cleanup)

    def write_round(self, rnd):
        status, body = self.daemon.write("storm", round_lines(rnd))
        self.assertEqual(status, 204, body)

    def test_kill_during_storm(self):
        d = self.daemon
        d.start()
        for rnd in range(KILL_AFTER_ROUND):
            self.write_round(rnd)

        # The next round is in flight when the process dies: it may be committed wholly,
        # in part or not at all.
        def send_in_flight():
            try:
                d.write("storm", round_lines(KILL_AFTER_ROUND))
            except OSError:  # the connection dies with the process
                pass

        in_flight = threading.Thread(target=send_in_flight)
        in_flight.start()
        d.kill()
        in_flight.join(timeout=30)

        d.start()
        for rnd in range(KILL_AFTER_ROUND, ROUNDS):  # resends the round in flight
            self.write_round(rnd)
        self.assertEqual(d.terminate(), 0, d.log())

        db = sqlite3.connect(os.path.join(d.data_dir, "catalog.db"))
        self.addCleanup(db.close)
        instances = {key: state for key, state in db.execute(
            "SELECT instance_key, state FROM alert_instances")}
        self.assertEqual(len(instances), SERIES)

        for i in range(SERIES):
            key = "sensor=s%03d" % i
            with self.subTest(instance=key):
                rows = db.execute(
                    "SELECT sequence, payload FROM ("
                    " SELECT sequence, payload, instance_key FROM outbox"
                    " UNION ALL SELECT sequence, payload, instance_key FROM outbox_dead)"
                    " WHERE instance_key = ? ORDER BY sequence", (key,)).fetchall()
                sequences = [r[0] for r in rows]
                self.assertEqual(sequences, list(range(1, len(rows) + 1)))
                statuses = [json.loads(r[1])["status"] for r in rows]
                # Round r fires series i when (i + r) is even: the first firing is at
                # round 0 or 1, then one notification per round.
                first = 0 if i % 2 == 0 else 1
                expected = ["firing" if (i + r) % 2 == 0 else "resolved"
                            for r in range(first, ROUNDS)]
                self.assertEqual(statuses, expected)

                audit = db.execute(
                    "SELECT from_state, to_state FROM audit_log WHERE instance_key = ?"
                    " ORDER BY id", (key,)).fetchall()
                self.assertGreaterEqual(len(audit), len(expected))
                for previous, current in zip(audit, audit[1:]):
                    self.assertEqual(current[0], previous[1], audit)
                self.assertEqual(audit[-1][1], instances[key])
                last_firing = value(i, ROUNDS - 1) > 50
                self.assertEqual(instances[key] == "firing", last_firing, instances[key])


if __name__ == "__main__":
    TIDEWATCHD = sys.argv.pop(1)
    unittest.main()
