#!/usr/bin/env python3
"""The real `influx` CLI (InfluxDB 1.x shell) against tidewatchd: an interactive session
driven through a pseudo-terminal (the shell keeps USE state only interactively), over
the plant simulator's database and a known dataset written through /write.

usage: influx_cli_test.py TIDEWATCHD [INFLUX]
"""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import unittest

from tidewatch_harness import TidewatchDaemon, base_config, scaled

TIDEWATCHD = None
INFLUX = "influx"

CONFIG = base_config("""
[simulator]
enabled = true
database = "plant"
sites = 2
sensors_per_site = 3
interval = "1s"
backfill = "5m"
""")

# 2026-01-01T00:00:00Z. The known dataset lives in its own database, so the simulator's
# wall-clock points neither mix into it nor age it out (retention follows each
# database's newest point).
T0 = 1767225600 * 10**9
S = 10**9
DATASET = [
    "pressure,site=site1,sensor=pt-001 value=1 %d" % (T0 + 10 * S),
    "pressure,site=site1,sensor=pt-002 value=2 %d" % (T0 + 20 * S),
    "pressure,site=site1,sensor=pt-001 value=4.25 %d" % (T0 + 70 * S),
    "pressure,site=site2,sensor=pt-101 value=10 %d" % (T0 + 5 * S),
    "pressure,site=site2,sensor=pt-101 value=20 %d" % (T0 + 15 * S),
    "pressure,site=site2,sensor=pt-102 value=30.5 %d" % (T0 + 25 * S),
    "pressure,site=site2,sensor=pt-102 value=-7 %d" % (T0 + 150 * S),
    "temperature,site=site1,sensor=tt-001 value=21.5 %d" % (T0 + 10 * S),
]
MEAN_QUERY = ("SELECT mean(value) FROM pressure WHERE time >= '2026-01-01T00:00:00Z' "
              "AND time < '2026-01-01T00:03:00Z' GROUP BY time(1m), site")
# What the shell prints for MEAN_QUERY (InfluxDB 1.x prints the same for this data:
# checked against influxd 1.6 once, by hand). Empty buckets print as blanks.
MEAN_TABLE = """name: pressure
tags: site=site1
time                 mean
----                 ----
2026-01-01T00:00:00Z 1.5
2026-01-01T00:01:00Z 4.25
2026-01-01T00:02:00Z 

name: pressure
tags: site=site2
time                 mean
----                 ----
2026-01-01T00:00:00Z 20.166666666666668
2026-01-01T00:01:00Z 
2026-01-01T00:02:00Z -7
"""

_ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


class InfluxShell:
    """The influx shell on a pseudo-terminal. run() types one line and returns what the
    shell printed for it (its echo removed), waiting at most `timeout` s for the next
    prompt."""

    PROMPT = b"\r\n> "

    def __init__(self, args):
        master, slave = pty.openpty()
        # A wide terminal, so the line editor never wraps a long query.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave,
                                     close_fds=True, start_new_session=True)
        os.close(slave)
        self.master = master
        self.buf = b""

    def _read_until(self, done, timeout, what):
        deadline = time.monotonic() + scaled(timeout)
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("influx shell: timed out waiting for %s; output so far:\n%r"
                                     % (what, self.buf))
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: the shell closed the terminal
                    chunk = b""
                if not chunk:
                    if done():
                        return
                    raise AssertionError("influx shell exited waiting for %s; output:\n%r"
                                         % (what, self.buf))
                self.buf += chunk

    def wait_prompt(self, timeout=20):
        self._read_until(lambda: self.buf.endswith(self.PROMPT), timeout, "the first prompt")
        return _clean(self.buf)

    def run(self, line, timeout=20):
        start = len(self.buf)
        os.write(self.master, line.encode() + b"\r")
        self._read_until(lambda: self.buf.endswith(self.PROMPT) and len(self.buf) > start + 4,
                         timeout, "the prompt after %r" % line)
        text = _clean(self.buf[start:-len(self.PROMPT)])
        echo, _, output = text.partition("\n")  # the line editor's redraw of `line`
        if not echo.endswith(line):
            raise AssertionError("unexpected echo %r for %r" % (echo, line))
        return output + "\n" if output else ""

    def exit(self, timeout=20):
        os.write(self.master, b"exit\r")
        try:
            return self.proc.wait(timeout=scaled(timeout))
        finally:
            self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.master is not None:
            os.close(self.master)
            self.master = None


def _clean(raw):
    return _ANSI.sub(b"", raw).replace(b"\r\n", b"\n").decode("utf-8", "replace")


class InfluxCliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = TidewatchDaemon(TIDEWATCHD, CONFIG)
        try:
            cls.daemon.start()
            status, body = cls.daemon.write("e2e", DATASET)
            assert status == 204, (status, body)
        except BaseException:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    def shell(self, *extra):
        return InfluxShell([INFLUX, "-host", "127.0.0.1", "-port", str(self.daemon.port)]
                           + list(extra))

    def test_interactive_session(self):
        sh = self.shell()
        try:
            banner = sh.wait_prompt()
            self.assertIn("Connected to http://127.0.0.1:%d version 1.8.10" % self.daemon.port,
                          banner)
            self.assertEqual(sh.run("SHOW DATABASES"),
                             "name: databases\nname\n----\ne2e\nplant\n")
            self.assertEqual(sh.run("USE plant"), "Using database plant\n")
            self.assertEqual(sh.run("SHOW MEASUREMENTS"),
                             "name: measurements\nname\n----\nflow\npressure\ntemperature\n")
            self.assertEqual(sh.run("SHOW TAG VALUES FROM pressure WITH KEY = site"),
                             "name: pressure\nkey  value\n---  -----\nsite site1\nsite site2\n")
            self.assertEqual(sh.run("USE e2e"), "Using database e2e\n")
            self.assertEqual(sh.run("precision rfc3339"), "")
            self.assertEqual(sh.run("SHOW MEASUREMENTS"),
                             "name: measurements\nname\n----\npressure\ntemperature\n")
            self.assertEqual(sh.run(MEAN_QUERY), MEAN_TABLE)
            self.assertEqual(
                sh.run("SELECT count(value), max(value) FROM pressure "
                       "WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-01T01:00:00Z'"),
                "name: pressure\ntime                 count max\n"
                "----                 ----- ---\n2026-01-01T00:00:00Z 7     30.5\n")
            self.assertEqual(sh.run("precision s"), "")
            self.assertEqual(
                sh.run("SELECT value FROM temperature WHERE site = 'site1'"),
                "name: temperature\ntime       value\n----       -----\n1767225610 21.5\n")
            self.assertEqual(sh.exit(), 0)
        finally:
            sh.close()

    def test_use_of_unknown_database_is_refused(self):
        sh = self.shell()
        try:
            sh.wait_prompt()
            self.assertIn("ERR: Database nope doesn't exist", sh.run("USE nope"))
            self.assertEqual(sh.exit(), 0)
        finally:
            sh.close()

    def test_live_simulator_query(self):
        # The quickstart's query over the simulator's wall-clock data: one series per
        # site, every row a number.
        out = subprocess.run(
            [INFLUX, "-host", "127.0.0.1", "-port", str(self.daemon.port), "-database", "plant",
             "-format", "csv", "-execute",
             "SELECT mean(value) FROM pressure WHERE time > now() - 3m AND time < now() - 5s "
             "GROUP BY time(1m), site"],
            capture_output=True, text=True, timeout=scaled(30))
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], "name,tags,time,mean")  # repeated before each series
        rows = [line.split(",") for line in lines if line != lines[0]]
        self.assertGreaterEqual(len(rows), 6)  # 2 sites x >= 3 buckets
        self.assertEqual({r[1] for r in rows}, {"site=site1", "site=site2"})
        for r in rows:
            self.assertEqual(r[0], "pressure")
            float(r[3])  # a mean in every bucket: the simulator writes every second


if __name__ == "__main__":
    TIDEWATCHD = sys.argv[1]
    if len(sys.argv) > 2:
        INFLUX = sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
