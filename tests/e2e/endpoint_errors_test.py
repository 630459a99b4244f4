#!/usr/bin/env python3
"""Error paths of a real tidewatchd, as clients see them: /query and /write errors,
authentication and roles (Bearer, Basic, u/p, and the influx CLI's -username/-password),
rules naming channels that do not exist or are still in use, and the command line
(--check-config, --version).

usage: endpoint_errors_test.py TIDEWATCHD [INFLUX]
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from tidewatch_harness import (TidewatchDaemon, base_config, basic_auth, bearer, scaled,
                               wait_until)

TIDEWATCHD = None
INFLUX = "influx"
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                        "examples")

CONFIG = base_config(http="auto_create_databases = false\n", extra="""
[auth]
enabled = true
[[auth.tokens]]
name = "ops"
token = "admin-secret"
role = "admin"
[[auth.tokens]]
name = "telegraf"
token = "write-secret"
role = "write"
[[auth.tokens]]
name = "grafana"
token = "read-secret"
role = "read"
""")

ADMIN = bearer("admin-secret")
WRITER = bearer("write-secret")
READER = bearer("read-secret")
LINE = "pressure,site=site1 value=1.5 1767225600000000000"


class EndpointErrorsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG)
        try:
            cls.daemon.start()
            status, body = cls.daemon.query("CREATE DATABASE plant", headers=ADMIN)
            assert status == 200 and "error" not in body["results"][0], (status, body)
            status, body = cls.daemon.write("plant", [LINE], headers=WRITER)
            assert status == 204, (status, body)
        except BaseException:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    # ---- /query ---------------------------------------------------------------------

    def test_query_without_q_is_400(self):
        status, body, headers = self.daemon.request("GET", "/query", {"db": "plant"},
                                                    headers=READER)
        self.assertEqual(status, 400)
        self.assertEqual(body, '{"error":"missing required parameter \\"q\\""}')
        self.assertEqual(headers["X-Influxdb-Error"], 'missing required parameter "q"')

    def test_parse_error_is_400_with_position(self):
        status, body = self.daemon.query("SELECT mean(value) FROM", db="plant", headers=READER)
        self.assertEqual(status, 400)
        self.assertEqual(body, {"error": "error parsing query: found EOF, expected identifier at "
                                         "line 1, char 25"})  # as InfluxDB 1.x says it

    def test_unknown_database_is_a_statement_error(self):
        status, body = self.daemon.query("SELECT mean(value) FROM pressure; SHOW DATABASES",
                                         db="nope", headers=READER)
        self.assertEqual(status, 200)
        self.assertEqual(body["results"][0], {"statement_id": 0,
                                              "error": "database not found: nope"})
        # Later statements still run.
        self.assertEqual(body["results"][1]["series"][0]["values"], [["plant"]])

    def test_functions_not_run_yet_answer_a_statement_error(self):
        # Valid InfluxQL that tidewatch does not execute (docs/QUERY.md) must fail loudly,
        # never answer as if there were no data.
        for field in ("mode(value)", "distinct(value)", "top(value, 1)", "bottom(value, 1)",
                      "sample(value, 1)", "integral(value)", "elapsed(value)", "abs(value)",
                      "count(distinct(value))", "mean(/val/)"):
            with self.subTest(field=field):
                status, body = self.daemon.query("SELECT %s FROM pressure" % field, db="plant",
                                                 headers=READER)
                self.assertEqual(status, 200, body)
                self.assertIn("error", body["results"][0], body)

    def test_bad_epoch_is_400(self):
        status, body = self.daemon.query("SHOW DATABASES", headers=READER, extra={"epoch": "y"})
        self.assertEqual(status, 400)
        self.assertIn("epoch", body["error"])

    def test_post_form_body_is_accepted(self):
        status, body, _ = self.daemon.request(
            "POST", "/query", None, "db=plant&q=SELECT+count(value)+FROM+pressure",
            {"Content-Type": "application/x-www-form-urlencoded", **READER})
        self.assertEqual(status, 200, body)
        self.assertIn('"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]', body)

    # ---- /write ---------------------------------------------------------------------

    def test_write_to_unknown_database_is_404_without_auto_create(self):
        status, body = self.daemon.write("typo", [LINE], headers=WRITER)
        self.assertEqual(status, 404)
        self.assertEqual(body, '{"error":"database not found: \\"typo\\""}')
        status, body = self.daemon.query("SHOW DATABASES", headers=READER)
        self.assertEqual(body["results"][0]["series"][0]["values"], [["plant"]])

    def test_write_without_db_is_400(self):
        status, body, _ = self.daemon.request("POST", "/write", None, LINE + "\n", WRITER)
        self.assertEqual(status, 400, body)

    def test_malformed_line_is_400_with_position(self):
        status, body = self.daemon.write("plant", ["pressure,site=site1 value= 1"], headers=WRITER)
        self.assertEqual(status, 400)
        self.assertIn("unable to parse", body)

    # ---- auth -----------------------------------------------------------------------

    def test_missing_and_bad_credentials_are_401(self):
        status, body, headers = self.daemon.request("GET", "/query", {"q": "SHOW DATABASES"})
        self.assertEqual(status, 401)
        self.assertIn("unable to parse authentication credentials", body)
        self.assertTrue(headers["WWW-Authenticate"].startswith("Basic realm="))
        status, body = self.daemon.query("SHOW DATABASES", headers=bearer("guess"))
        self.assertEqual((status, body), (401, {"error": "authorization failed"}))
        status, body = self.daemon.query("SHOW DATABASES",
                                         headers=basic_auth("grafana", "admin-secret"))
        self.assertEqual((status, body), (401, {"error": "authorization failed"}))
        status, body = self.daemon.write("plant", [LINE], headers=bearer("guess"))
        self.assertEqual(status, 401)

    def test_open_endpoints_need_no_credentials(self):
        self.assertEqual(self.daemon.request("GET", "/ping")[0], 204)
        self.assertEqual(self.daemon.request("GET", "/healthz")[0], 200)
        # Ready once started (no Kafka sources to wait for); polled by the daemon.
        wait_until(lambda: self.daemon.request("GET", "/readyz")[0] == 200, 30, "/readyz 200")

    def test_read_token_cannot_write(self):
        status, body = self.daemon.write("plant", [LINE], headers=READER)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body),
                         {"error": '"grafana" user is not authorized: requires role write'})

    def test_write_token_cannot_create_databases(self):
        status, body = self.daemon.query("CREATE DATABASE other", headers=WRITER)
        self.assertEqual(status, 403, body)

    def test_u_p_parameters_and_basic_auth_are_accepted(self):
        status, body = self.daemon.query("SHOW DATABASES",
                                         extra={"u": "grafana", "p": "read-secret"})
        self.assertEqual(status, 200, body)
        status, body = self.daemon.query("SHOW DATABASES",
                                         headers=basic_auth("grafana", "read-secret"))
        self.assertEqual(status, 200, body)
        status, body = self.daemon.write("plant", [LINE], headers=basic_auth("telegraf",
                                                                             "write-secret"))
        self.assertEqual(status, 204, body)

    def test_influx_cli_with_username_and_password(self):
        def influx(*args):
            return subprocess.run(
                [INFLUX, "-host", "127.0.0.1", "-port", str(self.daemon.port)] + list(args),
                capture_output=True, text=True, timeout=scaled(30), stdin=subprocess.DEVNULL)

        out = influx("-username", "grafana", "-password", "read-secret",
                     "-execute", "SHOW DATABASES")
        self.assertEqual((out.returncode, out.stdout), (0, "name: databases\nname\n----\nplant\n"),
                         out.stderr)
        out = influx("-username", "grafana", "-password", "read-secret", "-database", "plant",
                     "-execute", "SELECT count(value) FROM pressure")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("pressure", out.stdout)
        out = influx("-username", "grafana", "-password", "wrong", "-execute", "SHOW DATABASES")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("authorization failed", out.stdout + out.stderr)

    # ---- rules and channels name each other ---------------------------------------

    def api(self, method, path, body=None):
        headers = dict(ADMIN, **({"Content-Type": "application/json"} if body else {}))
        status, text, _ = self.daemon.request(method, path, body=json.dumps(body)
                                              if body is not None else None, headers=headers)
        return status, (json.loads(text) if text else None)

    def test_a_rule_needs_its_channels_and_holds_them(self):
        rule = {"name": "hot", "db": "plant", "query": "SELECT value FROM pressure",
                "condition": ">", "severity": "critical", "trip": 100, "channels": ["nope"]}
        status, body = self.api("POST", "/api/v1/rules", rule)
        self.assertEqual((status, body), (400, {"error": 'channels: no channel named "nope"'}))
        status, body = self.api("POST", "/api/v1/channels",
                                {"name": "hook", "kind": "webhook",
                                 "url": "http://127.0.0.1:9/alerts"})
        self.assertEqual(status, 201, body)
        rule["channels"] = ["hook"]
        status, body = self.api("POST", "/api/v1/rules", rule)
        self.assertEqual(status, 201, body)
        rule["channels"] = ["hook", "nope"]
        status, body = self.api("PUT", "/api/v1/rules/hot", rule)
        self.assertEqual((status, body), (400, {"error": 'channels: no channel named "nope"'}))

        status, body = self.api("DELETE", "/api/v1/channels/hook")
        self.assertEqual((status, body),
                         (409, {"error": 'channel "hook" is used by rules: "hot"'}))
        self.assertEqual(self.api("DELETE", "/api/v1/rules/hot")[0], 204)
        self.assertEqual(self.api("DELETE", "/api/v1/channels/hook")[0], 204)

    def test_a_rules_file_rule_naming_no_channel_loads_with_a_warning(self):
        # The rules file is read before channels can be made through the API, so such a
        # rule still loads; the log says where its notifications will go.
        daemon = TidewatchDaemon(TIDEWATCHD, base_config('[rules]\nfile = "rules.toml"\n'))
        self.addCleanup(daemon.cleanup)
        with open(os.path.join(daemon.root, "rules.toml"), "w") as f:
            f.write('[[rule]]\nname = "hot"\ndb = "plant"\nquery = "SELECT value FROM t"\n'
                    'condition = ">"\nchannels = ["ghost"]\n'
                    '[[rule.levels]]\nname = "critical"\ntrip = 1.0\n')
        daemon.start()
        status, text, _ = daemon.request("GET", "/api/v1/rules/hot")
        self.assertEqual(status, 200, text)
        wait_until(lambda: 'rule "hot" sends to channel "ghost", which does not exist'
                   in daemon.log(), 10, "the warning")

    # ---- command line ---------------------------------------------------------------

    def run_tidewatchd(self, *args):
        return subprocess.run([TIDEWATCHD] + list(args), capture_output=True, text=True,
                              timeout=scaled(30), stdin=subprocess.DEVNULL)

    def test_version(self):
        out = self.run_tidewatchd("--version")
        self.assertEqual((out.returncode, out.stdout), (0, "tidewatchd 0.1.0\n"))

    def test_unknown_flag_prints_usage(self):
        out = self.run_tidewatchd("--bogus")
        self.assertEqual(out.returncode, 2)
        self.assertTrue(out.stderr.startswith("usage: tidewatchd"))

    def test_check_config_prints_every_error_with_file_and_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('[http]\nlisten = "localhost"\nthreads = "two"\n\n'
                    '[storage]\nretention = "forever"\ncolour = "blue"\n')
        try:
            out = self.run_tidewatchd("--check-config", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(out.returncode, 1)
        lines = out.stderr.splitlines()
        self.assertEqual([line.split(": ")[0:2] for line in lines], [
            [f.name + ":2:10", "http.listen"],
            [f.name + ":3:11", "http.threads"],
            [f.name + ":6:13", "storage.retention"],
            [f.name + ":7:1", "storage.colour"],
        ])

    def test_check_config_of_a_missing_file_fails(self):
        out = self.run_tidewatchd("--check-config", "/nonexistent/tidewatch.toml")
        self.assertEqual(out.returncode, 1)
        self.assertIn("/nonexistent/tidewatch.toml", out.stderr)

    def test_check_config_accepts_the_examples(self):
        # production.toml names token files under /etc; it is checked where deployed.
        for name in ("minimal.toml", "quickstart.toml"):
            path = os.path.join(EXAMPLES, name)
            out = self.run_tidewatchd("--check-config", path)
            self.assertEqual((out.returncode, out.stdout), (0, path + ": ok\n"), out.stderr)


if __name__ == "__main__":
    TIDEWATCHD = sys.argv[1]
    if len(sys.argv) > 2:
        INFLUX = sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
