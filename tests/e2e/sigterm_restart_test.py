#!/usr/bin/env python3
"""SIGTERM under load, then a restart from the final snapshot: tidewatchd exits 0 within
a bound, leaves its snapshot, and after a restart on the same config answers the same
queries with the same JSON and still holds every point it acknowledged with 204.

usage: sigterm_restart_test.py TIDEWATCHD
"""

import os
import sys
import threading
import unittest
import urllib.error

from tidewatch_harness import TidewatchDaemon, base_config, scaled, wait_until

TIDEWATCHD = None

CONFIG = base_config("""
[simulator]
enabled = true
database = "plant"
sites = 2
sensors_per_site = 20
interval = "100ms"
backfill = "10m"
""")

T0 = 1767225600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9
MS = 10**6

# A fixed dataset (database "known"), queried before the shutdown and after the restart.
KNOWN = (["pressure,site=site%d,sensor=pt-%03d value=%s %d" % (1 + i % 2, i % 5, i * 0.25 - 3,
                                                               T0 + i * 7 * S)
          for i in range(200)]
         + ["valve,site=site1 open=%s,turns=%di %d" % ("true" if i % 3 else "false", i, T0 + i * S)
            for i in range(50)])
KNOWN_QUERIES = [
    "SHOW MEASUREMENTS",
    "SHOW TAG VALUES WITH KEY = sensor",
    "SELECT mean(value), min(value), max(value), count(value) FROM pressure "
    "WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-01T00:30:00Z' "
    "GROUP BY time(5m), site",
    "SELECT * FROM valve WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-01T00:01:00Z'",
    "SELECT last(turns), sum(turns) FROM valve WHERE time >= '2026-01-01T00:00:00Z' "
    "AND time < '2026-01-01T01:00:00Z'",
]

# The load: WRITERS threads, each writing BATCH points per request into database "load",
# point i of writer w at T0 + i ms with value i, until stopped.
WRITERS = 4
BATCH = 200


class Writer(threading.Thread):

    def __init__(self, daemon, index, stop):
        super().__init__(daemon=True)
        self.tw, self.index, self.stop = daemon, index, stop
        self.acked = 0  # points 0..acked-1 were answered 204
        self.unexpected = []

    def run(self):
        while not self.stop.is_set():
            first = self.acked
            lines = ["load,writer=w%d v=%di %d" % (self.index, i, T0 + i * MS)
                     for i in range(first, first + BATCH)]
            try:
                status, body = self.tw.write("load", lines)
            except (OSError, urllib.error.URLError):
                return  # the server went away (the shutdown)
            if status == 204:
                self.acked += BATCH
            elif status != 503:  # 503: backpressure; retry the same batch
                self.unexpected.append((status, body))
                return


class SigtermRestartTest(unittest.TestCase):

    def setUp(self):
        self.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG)

    def tearDown(self):
        self.daemon.cleanup()

    def known_answers(self):
        answers = []
        for q in KNOWN_QUERIES:
            status, body = self.daemon.query(q, db="known", extra={"epoch": "ns"})
            self.assertEqual(status, 200, body)
            self.assertNotIn("error", body["results"][0], body)
            answers.append(body)
        return answers

    def test_sigterm_under_load_then_restart(self):
        tw = self.daemon
        tw.start()
        status, body = tw.write("known", KNOWN)
        self.assertEqual(status, 204, body)
        before = self.known_answers()
        # The answers are not vacuous: the dataset is there.
        self.assertEqual(before[2]["results"][0]["series"][0]["values"][0][4], 22)

        stop = threading.Event()
        writers = [Writer(tw, w, stop) for w in range(WRITERS)]
        for w in writers:
            w.start()
        try:
            wait_until(lambda: all(w.acked >= 20 * BATCH for w in writers) or
                       any(not w.is_alive() for w in writers), 60, "every writer to be acked")
            for w in writers:
                self.assertEqual(w.unexpected, [])
                self.assertTrue(w.is_alive(), "writer %d stopped early" % w.index)
            code = tw.terminate(timeout=60)
        finally:
            stop.set()
            for w in writers:
                w.join(timeout=scaled(30))
        self.assertEqual(code, 0, tw.log())
        self.assertIn("final checkpoint written", tw.log())
        snapshot = os.path.join(tw.data_dir, "snapshot.twsnap")
        self.assertTrue(os.path.isfile(snapshot))
        self.assertGreater(os.path.getsize(snapshot), 0)
        for w in writers:
            self.assertFalse(w.is_alive())
            self.assertEqual(w.unexpected, [])

        tw.start(port=tw.port)  # the same config file, port included
        self.assertIn("checkpoint: restored", tw.log())
        self.assertEqual(self.known_answers(), before)
        for w in writers:
            # Every acknowledged point is back: the acked prefix exactly, and beyond it at
            # most the one batch that was in flight at the SIGTERM.
            acked_end = T0 + w.acked * MS
            q = ("SELECT count(v), sum(v) FROM load WHERE writer = 'w%d' AND time >= %d AND "
                 "time < %d" % (w.index, T0, acked_end))
            status, body = tw.query(q, db="load")
            self.assertEqual(status, 200, body)
            row = body["results"][0]["series"][0]["values"][0]
            self.assertEqual(row[1:], [w.acked, w.acked * (w.acked - 1) // 2], (w.index, body))
            status, body = tw.query("SELECT count(v) FROM load WHERE writer = 'w%d'" % w.index,
                                    db="load")
            total = body["results"][0]["series"][0]["values"][0][1]
            self.assertLessEqual(total, w.acked + BATCH, w.index)
        # The simulator's database came back too.
        status, body = tw.query("SHOW MEASUREMENTS", db="plant")
        self.assertEqual(body["results"][0]["series"][0]["values"],
                         [["flow"], ["pressure"], ["temperature"]])
        self.assertEqual(tw.terminate(timeout=60), 0, tw.log())


if __name__ == "__main__":
    TIDEWATCHD = sys.argv[1]
    unittest.main(argv=sys.argv[:1], verbosity=2)
