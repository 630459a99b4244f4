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
import sqlite3
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


# ---- notification receivers and external services (issue 7) ----------------------------

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_catalog(data_dir, sql, params=()):
    """Rows of `sql` on <data_dir>/catalog.db, opened read-only while the daemon may be
    writing it (WAL); [] while the file or its tables do not exist yet."""
    path = os.path.join(data_dir, "catalog.db")
    if not os.path.exists(path):
        return []
    try:
        db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=5)
    except sqlite3.OperationalError:
        return []
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as e:  # "no such table" before the schema exists
        if "no such table" in str(e) or "locked" in str(e):
            return []
        raise
    finally:
        db.close()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1:<ephemeral> that records every POST as a dict
    {"key": Idempotency-Key header, "body": parsed JSON (or raw text), "path", "mode",
    "answered": HTTP status sent (None if the answer could not be written)}.

    mode: "ok" answers 200; "refuse" answers 503; "stall" records the request first, then
    holds it until the mode changes (or for `stall_limit` s) and answers 200 then.
    """

    def __init__(self, mode="ok", stall_limit=60):
        import http.server
        self._lock = threading.Lock()
        self._requests = []
        self._mode = mode
        self._release = threading.Event()
        self._stall_limit = scaled(stall_limit)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                entry = {"key": self.headers.get("Idempotency-Key"), "body": body,
                         "path": self.path, "answered": None}
                with receiver._lock:
                    entry["mode"] = receiver._mode
                    receiver._requests.append(entry)
                status = 503 if entry["mode"] == "refuse" else 200
                if entry["mode"] == "stall":
                    receiver._release.wait(receiver._stall_limit)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                    entry["answered"] = status
                except OSError:  # the sender died while we stalled
                    pass

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.port = self._server.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def set_mode(self, mode):
        with self._lock:
            self._mode = mode
            if mode != "stall":
                self._release.set()
            else:
                self._release.clear()

    def requests(self):
        with self._lock:
            return [dict(r) for r in self._requests]

    def stop(self):
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _run(args, timeout, what, env=None, input_bytes=None):
    """Runs a helper command (bounded); its stdout; AssertionError with stderr if it fails."""
    try:
        done = subprocess.run(args, input=input_bytes, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=scaled(timeout), env=env)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish within %.0f s" % (what, scaled(timeout)))
    if done.returncode != 0:
        raise AssertionError("%s failed (exit %d):\n%s" % (what, done.returncode,
                                                           done.stderr.decode("utf-8", "replace")))
    return done.stdout.decode("utf-8", "replace")


_brokers = set()


@atexit.register
def _stop_leftover_brokers():
    for broker in list(_brokers):
        try:
            broker.stop()
        except AssertionError:
            pass


class KafkaBroker:
    """A single-node broker from deploy/kafka/start.sh (its own directory under `root`),
    driven with kcat; stop() runs deploy/kafka/stop.sh, which removes the directory (the
    interpreter's exit hook does too, as a last resort)."""

    def __init__(self, kcat, root):
        self.kcat = kcat
        self.dir = ""
        self._scripts = os.path.join(REPO_ROOT, "deploy", "kafka")
        env = dict(os.environ, TMPDIR=root)
        out = _run(["bash", os.path.join(self._scripts, "start.sh"), "--timeout", "90"],
                   120, "deploy/kafka/start.sh", env=env)
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.brokers = values.get("KAFKA_BROKERS", "")
        self.dir = values.get("KAFKA_DIR", "")
        if self.dir.startswith("'"):
            self.dir = self.dir.strip("'")
        if not self.brokers.startswith("127.0.0.1:") or not os.path.isdir(self.dir):
            raise AssertionError("start.sh printed no usable KAFKA_BROKERS/KAFKA_DIR: " + out)
        _brokers.add(self)

    def create_topics(self, *topics, partitions=1):
        _run(["bash", os.path.join(self._scripts, "create-topic.sh")] + list(topics)
             + ["--partitions", str(partitions), "--brokers", self.brokers],
             120, "deploy/kafka/create-topic.sh " + " ".join(topics))

    def produce(self, topic, messages):
        """Produces each message (one line each, no newline inside), acks=all, waited for."""
        data = "".join(m + "\n" for m in messages).encode()
        _run([self.kcat, "-P", "-b", self.brokers, "-t", topic, "-X", "acks=all"],
             60, "kcat -P to " + topic, input_bytes=data)

    def consume(self, topic):
        """Every message of `topic` from the beginning to the current end, as kcat -J
        dicts ("partition", "offset", "key", "payload", ...), in partition/offset order."""
        out = _run([self.kcat, "-C", "-b", self.brokers, "-t", topic, "-o", "beginning", "-e",
                    "-q", "-J"], 60, "kcat -C from " + topic)
        messages = [json.loads(line) for line in out.splitlines() if line.strip()]
        messages.sort(key=lambda m: (m["partition"], m["offset"]))
        return messages

    def stop(self):
        if self.dir:
            _run(["bash", os.path.join(self._scripts, "stop.sh"), "--dir", self.dir,
                  "--timeout", "20"], 60, "deploy/kafka/stop.sh")
            self.dir = ""
        _brokers.discard(self)


class Alertmanager:
    """A real Prometheus Alertmanager on 127.0.0.1:<free port>, storage under `root`, no
    cluster, routing everything to a receiver that does nothing."""

    def __init__(self, binary, root):
        self.root = os.path.join(root, "alertmanager")
        os.makedirs(self.root)
        config = os.path.join(self.root, "alertmanager.yml")
        with open(config, "w") as f:
            f.write("route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n")
        self.port = free_port()
        self._log = open(os.path.join(self.root, "alertmanager.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--config.file=" + config, "--storage.path=" + os.path.join(self.root, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=",
             "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        _live.add(self.proc)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("alertmanager exited: " + self.log())
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_until(ready, 30, "alertmanager's /-/ready", interval=0.05)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log(self):
        with open(os.path.join(self.root, "alertmanager.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alerts(self, **filters):
        """GET /api/v2/alerts (filters as query parameters); the parsed array."""
        url = self.url + "/api/v2/alerts"
        if filters:
            url += "?" + urllib.parse.urlencode(filters)
        with urllib.request.urlopen(url, timeout=scaled(10)) as resp:
            return json.loads(resp.read().decode())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        _live.discard(self.proc)
        self._log.close()
