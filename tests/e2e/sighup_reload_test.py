#!/usr/bin/env python3
"""SIGHUP on a real tidewatchd: [log], [[channels]] and the rules file are read again and
applied while the daemon runs; a file that does not parse, or whose channels fail the
checks together with the API's, changes nothing.

usage: sighup_reload_test.py TIDEWATCHD
"""

import json
import os
import signal
import sys
import time
import unittest

from tidewatch_harness import TidewatchDaemon, WebhookReceiver, wait_until

TIDEWATCHD = None

CONFIG = """
[log]
level = "info"
format = "%(format)s"

[http]
listen = "127.0.0.1:{port}"

[storage]
data_dir = "{data_dir}"
checkpoint_interval = "1h"

[rules]
file = "rules.toml"
tick_interval = "50ms"
%(channels)s
"""

CHANNEL = """
[[channels]]
name = "%s"
kind = "webhook"
url = "%s"
backoff_base = "100ms"
backoff_cap = "1s"
"""

RULE = """
[[rule]]
name = "%s"
db = "plant"
query = "SELECT value FROM %s"
condition = ">"
channels = ["%s"]
[[rule.levels]]
name = "critical"
trip = 50.0
"""


class SighupReloadTest(unittest.TestCase):

    def setUp(self):
        self.first = WebhookReceiver()
        self.addCleanup(self.first.stop)
        self.second = WebhookReceiver()
        self.addCleanup(self.second.stop)
        self.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG % {
            "format": "plain", "channels": CHANNEL % ("hook", self.first.url)})
        self.addCleanup(self.daemon.cleanup)
        self.write_rules(RULE % ("hot-a", "a", "hook"))

    def write_rules(self, text):
        with open(os.path.join(self.daemon.root, "rules.toml"), "w") as f:
            f.write(text)

    def write_config(self, log_format, channels):
        text = CONFIG % {"format": log_format, "channels": channels}
        with open(self.daemon.config_path, "w") as f:
            f.write(text.replace("{data_dir}", self.daemon.data_dir)
                    .replace("{port}", str(self.daemon.port)))

    def hangup_and_wait_for(self, line):
        seen = self.daemon.log().count(line)
        self.daemon.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.daemon.log().count(line) > seen, 20, repr(line))

    def alarm(self, measurement, sensor):
        status, body = self.daemon.write(
            "plant", ["%s,sensor=%s value=60 %d" % (measurement, sensor, time.time_ns())])
        self.assertEqual(status, 204, body)

    def rules_of(self, receiver):
        return sorted(r["body"]["rule"] + "/" + r["body"]["instance"]
                      for r in receiver.requests())

    def api(self, path):
        status, text, _ = self.daemon.request("GET", path)
        return status, json.loads(text)

    def test_log_channels_and_rules_are_reloaded(self):
        self.daemon.start()
        self.alarm("a", "s1")
        wait_until(lambda: self.rules_of(self.first) == ["hot-a/sensor=s1"], 20,
                   "the first alert at the first receiver")

        # The file now logs JSON, sends "hook" to the second receiver and adds a channel
        # and a rule that sends to it.
        self.write_config("json", CHANNEL % ("hook", self.second.url)
                          + CHANNEL % ("spare", self.second.url))
        self.write_rules(RULE % ("hot-a", "a", "hook") + RULE % ("hot-b", "b", "spare"))
        self.hangup_and_wait_for('"msg":"SIGHUP: log settings, [[channels]] and the rules file')
        self.assertEqual(self.api("/api/v1/rules/hot-b")[0], 200)
        status, spare = self.api("/api/v1/channels/spare")
        self.assertEqual((status, spare["source"]), (200, "config"), spare)

        self.alarm("a", "s2")
        self.alarm("b", "s3")
        wait_until(lambda: self.rules_of(self.second) == ["hot-a/sensor=s2", "hot-b/sensor=s3"],
                   20, "both alerts at the second receiver")
        self.assertEqual(self.rules_of(self.first), ["hot-a/sensor=s1"])

        # An API channel falls back on "spare"; a file without "spare" would leave that
        # fallback dangling, so the channels stay as they were. So does a broken file.
        relay = json.dumps({"name": "relay", "kind": "webhook", "url": self.first.url,
                            "fallback": "spare"})
        status, text, _ = self.daemon.request("POST", "/api/v1/channels", body=relay,
                                              headers={"Content-Type": "application/json"})
        self.assertEqual(status, 201, text)
        self.write_config("json", CHANNEL % ("hook", self.first.url))
        self.write_rules(RULE % ("hot-a", "a", "hook") + RULE % ("hot-c", "c", "hook"))
        self.hangup_and_wait_for("channels: keeping the channels loaded before")
        wait_until(lambda: "its [[channels]] were refused" in self.daemon.log(), 10,
                   "the reload's refusal")
        self.assertEqual(self.api("/api/v1/rules/hot-c")[0], 404)  # nor the rules file
        with open(self.daemon.config_path, "a") as f:
            f.write("[nonsense\n")
        self.hangup_and_wait_for("SIGHUP: keeping the running config")
        self.alarm("a", "s4")
        wait_until(lambda: "hot-a/sensor=s4" in self.rules_of(self.second), 20,
                   "the alert at the second receiver still")
        self.assertEqual(self.rules_of(self.first), ["hot-a/sensor=s1"])
        self.assertEqual(self.daemon.terminate(timeout=60), 0, self.daemon.log())


if __name__ == "__main__":
    TIDEWATCHD = sys.argv[1]
    unittest.main(argv=sys.argv[:1], verbosity=2)
