#!/usr/bin/env python3
"""kill -9 of tidewatchd while a webhook notification is on its way: after a restart it
arrives (at least once) with the idempotency key of its outbox row.

The receiver is a real HTTP server in this script that records the Idempotency-Key and
the body of every request and answers 503, stalls, or answers 200 as the case needs.
  A. between the outbox write and a successful send: the receiver refuses (503) until
     the row exists and an attempt has failed; kill -9; the receiver turns to 200; the
     restarted daemon delivers the row with its key.
  B. between the send and the mark-done: the receiver holds the request (its key
     recorded) and the daemon is killed while waiting for the answer; after the restart
     the same key arrives again, is answered 200, and the row ends done.
The outbox is read from <data_dir>/catalog.db, read-only, while the daemon runs.

usage: delivery_kill_test.py TIDEWATCHD
"""

import json
import os
import sys
import time
import unittest

from tidewatch_harness import (TidewatchDaemon, WebhookReceiver, base_config, read_catalog,
                               wait_until)

TIDEWATCHD = None

RULES = """
[[rule]]
name = "tank-high"
db = "plant"
query = "SELECT value FROM level"
condition = ">"
channels = ["ops-webhook"]
[[rule.levels]]
name = "critical"
trip = 50.0
reset = 40.0
"""


def config(receiver):
    return base_config("""
[rules]
file = "rules.toml"
tick_interval = "50ms"

[[channels]]
name = "ops-webhook"
kind = "webhook"
url = "%s"
backoff_base = "100ms"
backoff_cap = "1s"
request_timeout = "2s"
lease = "5s"
""" % receiver.url)


def outbox(daemon):
    """[(idempotency_key, state, attempts, last_error, payload)] of the webhook channel."""
    return read_catalog(daemon.data_dir,
                        "SELECT idempotency_key, state, attempts, last_error, payload FROM outbox"
                        " WHERE channel = 'ops-webhook' ORDER BY id")


class DeliveryKillTest(unittest.TestCase):
    def setUp(self):
        self.receiver = WebhookReceiver(mode="refuse")
        self.addCleanup(self.receiver.stop)
        self.daemon = TidewatchDaemon(TIDEWATCHD, config(self.receiver))
        with open(os.path.join(self.daemon.root, "rules.toml"), "w") as f:
            f.write(RULES)
        self.addCleanup(self.daemon.cleanup)

    def trip(self):
        """One point past the trip value: the alarm fires, one outbox row."""
        status, body = self.daemon.write("plant", ["level,tank=t1 value=90 %d" % time.time_ns()])
        self.assertEqual(status, 204, body)

    def assert_delivered_after_restart(self, key):
        """Restarts the killed daemon; `key` must arrive again, be answered 200, and its
        row end done."""
        d = self.daemon
        before = len(self.receiver.requests())
        d.start(port=d.port)
        wait_until(lambda: any(r["key"] == key and r["answered"] == 200
                               for r in self.receiver.requests()[before:]),
                   20, "the notification %s answered 200 after the restart" % key)
        wait_until(lambda: [row[1] for row in outbox(d)] == ["done"], 20,
                   "the outbox row marked done")
        rows = outbox(d)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][0], key)
        for request in self.receiver.requests():
            # Every request, before the kill and after, is this notification.
            self.assertEqual(request["key"], key, request)
            self.assertEqual(request["path"], "/hook")
            self.assertIsInstance(request["body"], dict, request)
            self.assertEqual(request["body"]["idempotency_key"], key)
            self.assertEqual(request["body"]["status"], "firing")
            self.assertEqual(request["body"]["rule"], "tank-high")
            self.assertEqual(request["body"]["instance"], "tank=t1")
            self.assertEqual(request["body"], json.loads(rows[0][4]))
        self.assertEqual(d.terminate(), 0, d.log())

    def test_kill_between_outbox_write_and_send(self):
        d = self.daemon
        d.start()
        self.trip()
        # The row is written before the 204; the receiver refuses every attempt.
        wait_until(lambda: any(row[2] >= 1 and row[3] for row in outbox(d)), 20,
                   "a failed delivery attempt recorded in the outbox")
        rows = outbox(d)
        self.assertEqual(len(rows), 1, rows)
        key, state = rows[0][0], rows[0][1]
        self.assertEqual(state, "pending")
        self.assertRegex(key, r"^tw-\d+-[0-9a-f]{16}-1$")
        d.kill()
        self.assertTrue(self.receiver.requests(), "no attempt reached the receiver")
        self.assertTrue(all(r["answered"] in (503, None) for r in self.receiver.requests()))
        self.receiver.set_mode("ok")
        self.assert_delivered_after_restart(key)

    def test_kill_between_send_and_mark_done(self):
        d = self.daemon
        self.receiver.set_mode("stall")
        d.start()
        self.trip()
        wait_until(lambda: self.receiver.requests(), 20, "the notification at the receiver")
        key = self.receiver.requests()[0]["key"]
        self.assertIsNotNone(key, "no Idempotency-Key header")
        rows = outbox(d)
        self.assertEqual([(row[0], row[1]) for row in rows], [(key, "pending")])
        d.kill()  # while the receiver holds the request: it was sent, never answered
        self.receiver.set_mode("ok")  # releases the stalled request into a dead socket
        self.assert_delivered_after_restart(key)


if __name__ == "__main__":
    TIDEWATCHD = sys.argv.pop(1)
    unittest.main()
