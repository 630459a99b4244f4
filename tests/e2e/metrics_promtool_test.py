#!/usr/bin/env python3
"""/metrics of a running tidewatchd, with traffic behind it, through Prometheus'
`promtool check metrics` (the exposition format and its lint rules), and the families
dashboards rely on present with plausible values.

usage: metrics_promtool_test.py TIDEWATCHD [PROMTOOL]
"""

import re
import subprocess
import sys
import unittest

from tidewatch_harness import TidewatchDaemon, base_config, scaled, wait_until

TIDEWATCHD = None
PROMTOOL = "promtool"

CONFIG = base_config("""
[simulator]
enabled = true
database = "plant"
sites = 1
sensors_per_site = 2
interval = "100ms"
backfill = "1m"
""")

FAMILIES = [
    "tidewatch_build_info",
    "tidewatch_checkpoint_age_seconds",
    "tidewatch_evaluation_points_stored_total",
    "tidewatch_http_requests_total",
    "tidewatch_http_write_points_total",
    "tidewatch_query_duration_seconds",
    "tidewatch_ring_pushed_total",
    "tidewatch_store_points",
    "tidewatch_store_series",
]


def sample(text, name, labels=""):
    """The value of the sample `name{labels}` (labels as printed, "" for none)."""
    if labels:
        name += "{" + labels + "}"
    pattern = "^" + re.escape(name) + r" (\S+)$"
    m = re.search(pattern, text, re.MULTILINE)
    return float(m.group(1)) if m else None


class MetricsPromtoolTest(unittest.TestCase):

    def setUp(self):
        self.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG)
        self.daemon.start()

    def tearDown(self):
        self.daemon.cleanup()

    def scrape(self):
        status, body, headers = self.daemon.request("GET", "/metrics")
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        return body

    def test_promtool_accepts_metrics_under_traffic(self):
        tw = self.daemon
        status, _ = tw.write("e2e", ["m,host=a v=1 1767225600000000000",
                                     "m,host=b v=2 1767225600000000000"])
        self.assertEqual(status, 204)
        self.assertEqual(tw.query("SHOW DATABASES")[0], 200)
        self.assertEqual(tw.query("SELEC")[0], 400)
        self.assertEqual(tw.request("GET", "/nope")[0], 404)
        wait_until(lambda: sample(self.scrape(), "tidewatch_store_series", 'db="plant"') == 2 * 3,
                   30, "the simulator's series in the store")
        text = self.scrape()

        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=scaled(60))
        self.assertEqual((check.returncode, check.stdout, check.stderr), (0, "", ""))

        for family in FAMILIES:
            self.assertRegex(text, r"(?m)^# TYPE %s " % family)
        self.assertRegex(text, r'(?m)^tidewatch_build_info\{version="0\.1\.0"[^}]*\} 1$')
        self.assertEqual(sample(text, "tidewatch_store_series", 'db="e2e"'), 2)
        self.assertEqual(sample(text, "tidewatch_http_write_points_total"), 2)
        requests = "tidewatch_http_requests_total"
        self.assertEqual(sample(text, requests, 'path="/query",code="400"'), 1)
        self.assertEqual(sample(text, requests, 'path="other",code="404"'), 1)
        self.assertRegex(text, r'(?m)^tidewatch_query_duration_seconds_count(\{[^}]*\})? [1-9]')
        self.assertGreater(sample(text, "tidewatch_store_points"), 0)

    def test_metrics_need_a_read_token_when_auth_is_on(self):
        self.daemon.cleanup()
        self.daemon = TidewatchDaemon(TIDEWATCHD, base_config("""
[auth]
enabled = true
[[auth.tokens]]
name = "prometheus"
token = "scrape-token"
role = "read"
"""))
        self.daemon.start()
        self.assertEqual(self.daemon.request("GET", "/metrics")[0], 401)
        status, body, _ = self.daemon.request(
            "GET", "/metrics", headers={"Authorization": "Bearer scrape-token"})
        self.assertEqual(status, 200)
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=scaled(60))
        self.assertEqual((check.returncode, check.stdout, check.stderr), (0, "", ""))


if __name__ == "__main__":
    TIDEWATCHD = sys.argv[1]
    if len(sys.argv) > 2:
        PROMTOOL = sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
