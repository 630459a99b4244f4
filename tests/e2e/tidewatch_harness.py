"""Process-level test harness for tidewatchd: start a daemon on a config, find its port,
talk HTTP to it, stop it. Python 3 standard library only.

Every wait is bounded (DEADLINE_SCALE stretches the bounds for sanitizer builds), and
every daemon started through TidewatchDaemon is killed by stop()/kill() or, as a last
resort, by the interpreter's exit hook.
"""

import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Sanitizer builds run the daemon 5-15x slower; ctest passes TIDEWATCH_E2E_SLOW=1 there.
DEADLINE_SCALE = 5.0 if os.environ.get("TIDEWATCH_E2E_SLOW") == "1" else 1.0

_LISTENING = re.compile(r"listening on (\S+):(\d+)")
_live = set()


@atexit.register
def _kill_leftovers():
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def scaled(seconds):
    return seconds * DEADLINE_SCALE


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate() until it is true; raises AssertionError after `timeout` s."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (scaled(timeout), what))
        time.sleep(interval)


class TidewatchDaemon:
    """One tidewatchd process on a config file.

    config_text is written to <data_root>/tidewatch.toml; "{data_dir}" in it is replaced
    by <data_root>/data and "{port}" by a port that was free a moment before start()
    (the config refuses port 0). If another process takes it first the daemon fails to
    bind and start() tries another one. The port is confirmed from the daemon's
    "listening on host:port" log line.
    """

    def __init__(self, binary, config_text, data_root=None):
        self.binary = binary
        self._own_root = data_root is None
        self.root = data_root or tempfile.mkdtemp(prefix="tidewatch-e2e-")
        self.data_dir = os.path.join(self.root, "data")
        self.config_path = os.path.join(self.root, "tidewatch.toml")
        self._config_text = config_text.replace("{data_dir}", self.data_dir)
        self.proc = None
        self.port = None
        self._log = []
        self._log_lock = threading.Lock()
        self._reader = None

    # ---- lifecycle ------------------------------------------------------------------

    def start(self, timeout=30, port=None):
        """Starts the daemon; port=None picks a free one, else reuses `port` (a restart)."""
        for attempt in range(3):
            try:
                return self._start_once(timeout, port or free_port())
            except _PortTaken:
                if port is not None or attempt == 2:
                    raise AssertionError("could not bind a port:\n" + self.log())
        raise AssertionError("unreachable")

    def _start_once(self, timeout, port):
        with open(self.config_path, "w") as f:
            f.write(self._config_text.replace("{port}", str(port)))
        self._log = []
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.config_path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
        )
        _live.add(self.proc)
        self._reader = threading.Thread(target=self._read_log, args=(self.proc,), daemon=True)
        self._reader.start()
        found = {}

        def listening():
            if self.proc.poll() is not None:
                self._reap()
                if "http.listen" in self.log() and "in use" in self.log():
                    raise _PortTaken()
                raise AssertionError("tidewatchd exited with %s during startup:\n%s"
                                     % (self.proc.returncode, self.log()))
            m = _LISTENING.search(self.log())
            if m:
                found["port"] = int(m.group(2))
            return bool(found)

        wait_until(listening, timeout, "tidewatchd's 'listening on' line")
        self.port = found["port"]
        return self

    def _read_log(self, proc):
        for raw in proc.stderr:
            with self._log_lock:
                self._log.append(raw.decode("utf-8", "replace"))

    def log(self):
        with self._log_lock:
            return "".join(self._log)

    def terminate(self, timeout=60):
        """SIGTERM; waits for the exit (bounded) and returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("tidewatchd did not exit within %.0f s of SIGTERM:\n%s"
                                 % (scaled(timeout), self.log()))
        self._reap()
        return code

    def _reap(self):
        self._reader.join(timeout=10)
        self.proc.stderr.close()
        _live.discard(self.proc)

    def kill(self):
        if self.proc is None or self.proc not in _live:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reap()

    def stop(self):
        """Ends the process however it can (for finally blocks); SIGKILL if SIGTERM hangs."""
        if self.proc is None or self.proc not in _live:
            return
        if self.proc.poll() is not None:
            self._reap()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=scaled(30))
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._reap()

    def cleanup(self):
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- HTTP -----------------------------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, params=None, body=None, headers=None, timeout=30):
        """Returns (status, body text, headers); never raises for HTTP error statuses."""
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=scaled(timeout)) as resp:
                return resp.status, resp.read().decode("utf-8", "replace"), resp.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace"), e.headers

    def write(self, db, lines, precision="ns", headers=None, extra=None):
        params = {"db": db, "precision": precision}
        params.update(extra or {})
        status, body, _ = self.request("POST", "/write", params, "\n".join(lines) + "\n", headers)
        return status, body

    def query(self, q, db=None, headers=None, extra=None):
        """Returns (status, parsed JSON or raw text)."""
        params = {"q": q}
        if db:
            params["db"] = db
        params.update(extra or {})
        status, body, _ = self.request("GET", "/query", params, None, headers)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body


class _PortTaken(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic_auth(name, token):
    credentials = base64.b64encode(("%s:%s" % (name, token)).encode()).decode()
    return {"Authorization": "Basic " + credentials}


def bearer(token):
    return {"Authorization": "Bearer " + token}


def base_config(extra="", http=""):
    """A small config: HTTP on a free port, data under {data_dir}, log at info; `http`
    adds keys to the [http] table, `extra` adds tables."""
    return """
[log]
level = "info"

[http]
listen = "127.0.0.1:{port}"
threads = 4
""" + http + """
[storage]
data_dir = "{data_dir}"
retention = "1h"
checkpoint_interval = "1h"
""" + extra

