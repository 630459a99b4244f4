#!/usr/bin/env python3
"""HTTP API side by side: tidewatchd against InfluxDB 1.x (docs/BENCHMARKS.md).

Loads one dataset into both servers through POST /write, in the same batches, with
the same number of concurrent keep-alive connections, then times the same InfluxQL
queries through GET /query (epoch=ns), interleaved between the two servers, and
checks that both answer the same.

Dataset: measurement sensor_data, tags site=site1..siteS and sensor=sNNNN (unique
across sites: site1 holds s0001..s0250, site2 s0251..s0500, ...), so every sensor is
one series; field value, a random walk rounded to 0.01; P points per series at 1 s
spacing from a fixed, minute-aligned start. Batches are time-major: each holds every
series at consecutive timestamps, as a plant's sensors report.

Both servers must already run (tests/bench/influx_compare.sh starts and stops them).
Prints a report and, with --json, writes the raw figures.
"""

import argparse
import http.client
import json
import math
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse

START_S = 1_699_999_980  # divisible by 60: 1m buckets start on the data's first point
MEASUREMENT = "sensor_data"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tidewatch", required=True, help="host:port of tidewatchd")
    p.add_argument("--influx", required=True, help="host:port of influxd")
    p.add_argument("--tidewatch-pid", type=int, help="for CPU seconds per phase")
    p.add_argument("--influx-pid", type=int, help="for CPU seconds per phase")
    p.add_argument("--db", default="bench")
    p.add_argument("--sites", type=int, default=4)
    p.add_argument("--sensors-per-site", type=int, default=250)
    p.add_argument("--points", type=int, default=10_000, help="points per series")
    p.add_argument("--batch", type=int, default=5000, help="lines per /write request")
    p.add_argument("--connections", type=int, default=4,
                   help="concurrent /write connections per server")
    p.add_argument("--reps", type=int, default=21, help="timed repetitions per query")
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--query-budget-s", type=float, default=60,
                   help="per query: stop repeating (after --min-reps) once spent")
    p.add_argument("--order", default="tidewatch,influx",
                   help="which server is loaded first")
    p.add_argument("--writes-only", action="store_true", help="skip the queries")
    p.add_argument("--json", help="write the raw figures here")
    return p.parse_args()


def series_tags(args):
    tags = []
    n = 0
    for site in range(1, args.sites + 1):
        for _ in range(args.sensors_per_site):
            n += 1
            tags.append(f"sensor=s{n:04d},site=site{site}")
    return tags


def make_bodies(args):
    """The /write bodies, built once, not timed."""
    rng = random.Random(42)
    tags = series_tags(args)
    level = [rng.uniform(1.0, 100.0) for _ in tags]
    lines = []
    for i in range(args.points):
        ts = (START_S + i) * 1_000_000_000
        for s, tag in enumerate(tags):
            level[s] += rng.gauss(0.0, 0.05)
            lines.append(f"{MEASUREMENT},{tag} value={level[s]:.2f} {ts}\n")
    return ["".join(lines[k:k + args.batch]).encode()
            for k in range(0, len(lines), args.batch)], len(lines)


def cpu_seconds(pid):
    """utime + stime of a process (all threads), in seconds; None without pid."""
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_avg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def write_all(hostport, db, bodies, connections):
    """POSTs every body over `connections` keep-alive connections; returns seconds."""
    next_index = [0]
    lock = threading.Lock()
    errors = []
    path = "/write?" + urllib.parse.urlencode({"db": db, "precision": "ns"})
    headers = {"Content-Type": "text/plain; charset=utf-8"}

    def worker():
        host, port = hostport.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=600)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(bodies) or errors:
                break
            status, data = request(conn, "POST", path, bodies[i], headers)
            if status != 204:
                errors.append(f"batch {i}: HTTP {status} {data[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        sys.exit(f"{hostport}: write failed: {errors[0]}")
    return elapsed


def query(conn, db, q):
    path = "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
    t0 = time.perf_counter()
    status, data = request(conn, "GET", path)
    elapsed = time.perf_counter() - t0
    if status != 200:
        sys.exit(f"query failed: HTTP {status} {data[:300]!r} for {q}")
    return elapsed, data


def wait_idle(pid, label, max_s=120):
    """Waits until a server uses under 5% of a CPU over 2 s (compactions, snapshots)."""
    if not pid:
        return 0.0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_s:
        c0 = cpu_seconds(pid)
        time.sleep(2)
        if cpu_seconds(pid) - c0 < 0.1:
            break
    waited = time.perf_counter() - t0
    print(f"  {label}: idle after {waited:.0f} s", flush=True)
    return waited


def queries(args):
    t0 = START_S * 1_000_000_000
    t1 = (START_S + args.points) * 1_000_000_000
    rng = f"time >= {t0} AND time < {t1}"
    return [
        ("Q1 all series, GROUP BY time(1m), sensor",
         f"SELECT mean(value) FROM {MEASUREMENT} WHERE {rng} GROUP BY time(1m), sensor"),
        ("Q2 one series, GROUP BY time(10s)",
         f"SELECT mean(value) FROM {MEASUREMENT} WHERE site = 'site1' AND "
         f"sensor = 's0001' AND {rng} GROUP BY time(10s)"),
        ("Q3 tag-filtered mean (one site)",
         f"SELECT mean(value) FROM {MEASUREMENT} WHERE site = 'site2' AND {rng}"),
        ("Q4 percentile(95) per site, all points",
         f"SELECT percentile(value, 95) FROM {MEASUREMENT} WHERE {rng} GROUP BY site"),
    ]


def canonical(data):
    """{(name, tags): [row, ...]} of one statement's answer, or the error text."""
    doc = json.loads(data)
    result = doc["results"][0]
    if "error" in result:
        return {"error": result["error"]}
    out = {}
    for s in result.get("series", []):
        key = (s["name"], tuple(sorted((s.get("tags") or {}).items())))
        out[key] = {"columns": s["columns"], "values": s["values"]}
    return out


def close(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def compare(name, tw_data, ix_data):
    """Returns a list of human-readable disagreements (empty: same answer)."""
    tw, ix = canonical(tw_data), canonical(ix_data)
    problems = []
    if "error" in tw or "error" in ix:
        return [f"{name}: error: tidewatch {tw.get('error')!r}, influx {ix.get('error')!r}"]
    if tw.keys() != ix.keys():
        only_tw = sorted(tw.keys() - ix.keys())[:3]
        only_ix = sorted(ix.keys() - tw.keys())[:3]
        problems.append(f"{name}: series differ: {len(tw)} vs {len(ix)}; only tidewatch "
                        f"{only_tw}, only influx {only_ix}")
    for key in sorted(tw.keys() & ix.keys()):
        a, b = tw[key], ix[key]
        if a["columns"] != b["columns"]:
            problems.append(f"{name} {key}: columns {a['columns']} vs {b['columns']}")
        if len(a["values"]) != len(b["values"]):
            problems.append(f"{name} {key}: {len(a['values'])} rows vs {len(b['values'])}; "
                            f"first {a['values'][:2]} vs {b['values'][:2]}, last "
                            f"{a['values'][-2:]} vs {b['values'][-2:]}")
            continue
        for ra, rb in zip(a["values"], b["values"]):
            if len(ra) != len(rb) or not all(close(x, y) for x, y in zip(ra, rb)):
                problems.append(f"{name} {key}: row {ra} vs {rb}")
                break
    return problems


def selector_time_ties(name, tw_data, ix_data, conn, db):
    """Rows that differ only in the time column of a selector (percentile): both
    servers picked a point with the selected value, and several points have it. Each
    such row is accepted only if InfluxDB confirms that tidewatch's (time, value) is a
    point of that group. Returns (notes, problems)."""
    tw, ix = canonical(tw_data), canonical(ix_data)
    notes, problems = [], []
    for key in sorted(tw.keys() & ix.keys()):
        for ra, rb in zip(tw[key]["values"], ix[key]["values"]):
            if ra == rb:
                continue
            if len(ra) != len(rb) or not all(close(x, y) for x, y in zip(ra[1:], rb[1:])):
                problems.append(f"{name} {key}: row {ra} vs {rb}")
                continue
            tags = " AND ".join(f"{k} = '{v}'" for k, v in key[1])
            check = (f"SELECT count(value) FROM {MEASUREMENT} WHERE {tags} AND "
                     f"time = {ra[0]} AND value = {ra[1]!r}")
            _, data = query(conn, db, check)
            found = canonical(data)
            count = next(iter(found.values()))["values"][0][1] if found else 0
            line = (f"{name} {key}: value {ra[1]} at tidewatch {ra[0]} vs influx {rb[0]}; "
                    f"InfluxDB has {count} point(s) with that value at tidewatch's time")
            (notes if count else problems).append(line)
    return notes, problems


def main():
    args = parse_args()
    print(f"load average at start: {load_avg()}", flush=True)
    t = time.perf_counter()
    bodies, n_points = make_bodies(args)
    print(f"generated {n_points:,} points in {len(bodies)} bodies of {args.batch} lines, "
          f"{sum(map(len, bodies)) / 1e6:.0f} MB, in {time.perf_counter() - t:.0f} s",
          flush=True)

    servers = {"tidewatch": (args.tidewatch, args.tidewatch_pid),
               "influx": (args.influx, args.influx_pid)}
    for name, (hostport, _) in servers.items():
        host, port = hostport.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        status, data = request(
            conn, "POST", "/query",
            urllib.parse.urlencode({"q": f"CREATE DATABASE {args.db}"}),
            {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            sys.exit(f"{name}: CREATE DATABASE: HTTP {status} {data[:200]!r}")

    report = {"points": n_points, "batch": args.batch, "connections": args.connections,
              "load_start": load_avg(), "write": {}, "queries": []}
    for name in args.order.split(","):
        hostport, pid = servers[name]
        cpu0, client0 = cpu_seconds(pid), time.process_time()
        elapsed = write_all(hostport, args.db, bodies, args.connections)
        cpu = cpu_seconds(pid) - cpu0 if pid else None
        client = time.process_time() - client0
        rate = n_points / elapsed
        report["write"][name] = {"seconds": elapsed, "points_per_s": rate,
                                 "server_cpu_s": cpu, "client_cpu_s": client,
                                 "load": load_avg()}
        cpu_text = "?" if cpu is None else f"{cpu:.2f}"
        print(f"write {name}: {elapsed:.2f} s, {rate / 1e6:.3f} M points/s, server CPU "
              f"{cpu_text} s, client CPU {client:.1f} s, load {load_avg()}", flush=True)
    w = report["write"]
    report["write_ratio"] = w["tidewatch"]["points_per_s"] / w["influx"]["points_per_s"]
    print(f"write ratio tidewatch/influx: {report['write_ratio']:.2f}", flush=True)
    del bodies

    if args.writes_only:
        queries_to_run = []
    else:
        queries_to_run = queries(args)
        for name, (_, pid) in servers.items():
            wait_idle(pid, name)

    conns = {}
    for name, (hostport, _) in servers.items():
        host, port = hostport.rsplit(":", 1)
        conns[name] = http.client.HTTPConnection(host, int(port), timeout=600)

    floor = {}
    for name in servers:  # the client + HTTP floor: GET /ping, keep-alive
        samples = []
        for _ in range(201):
            t = time.perf_counter()
            status, _ = request(conns[name], "GET", "/ping")
            samples.append(time.perf_counter() - t)
            if status != 204:
                sys.exit(f"{name}: /ping: HTTP {status}")
        floor[name] = statistics.median(samples[1:])
    report["ping_median_s"] = floor
    print(f"GET /ping median: tidewatch {floor['tidewatch'] * 1e3:.3f} ms, influx "
          f"{floor['influx'] * 1e3:.3f} ms", flush=True)

    disagreements = []
    for label, q in queries_to_run:
        times = {"tidewatch": [], "influx": []}
        answers = {}
        for name in servers:  # warm-up, and the answer we check
            elapsed, answers[name] = query(conns[name], args.db, q)
        problems = compare(label, answers["tidewatch"], answers["influx"])
        if problems and "percentile" in q:
            notes, problems = selector_time_ties(label, answers["tidewatch"],
                                                 answers["influx"], conns["influx"], args.db)
            problems += [p for p in compare(label, answers["tidewatch"], answers["influx"])
                         if ": row " not in p]
            report.setdefault("tie_notes", []).extend(notes)
            for n in notes:
                print("  tie: " + n, flush=True)
        disagreements += problems
        spent0 = time.perf_counter()
        for rep in range(args.reps):
            order = ["tidewatch", "influx"] if rep % 2 == 0 else ["influx", "tidewatch"]
            for name in order:
                elapsed, _ = query(conns[name], args.db, q)
                times[name].append(elapsed)
            if rep + 1 >= args.min_reps and time.perf_counter() - spent0 > args.query_budget_s:
                break
        med = {n: statistics.median(v) for n, v in times.items()}
        ratio = med["influx"] / med["tidewatch"]
        entry = {"label": label, "q": q, "reps": len(times["tidewatch"]),
                 "median_s": med, "min_s": {n: min(v) for n, v in times.items()},
                 "max_s": {n: max(v) for n, v in times.items()}, "ratio": ratio,
                 "bytes": {n: len(a) for n, a in answers.items()},
                 "series": {n: len(canonical(a)) for n, a in answers.items()},
                 "agree": not problems, "load": load_avg()}
        report["queries"].append(entry)
        print(f"{label}: tidewatch {med['tidewatch'] * 1e3:.1f} ms, influx "
              f"{med['influx'] * 1e3:.1f} ms, ratio {ratio:.1f}x over {entry['reps']} reps "
              f"(min {entry['min_s']['tidewatch'] * 1e3:.1f} / "
              f"{entry['min_s']['influx'] * 1e3:.1f} ms), answers "
              f"{'agree' if not problems else 'DIFFER'}, {entry['series']['tidewatch']} "
              f"series, {entry['bytes']['tidewatch']:,} / {entry['bytes']['influx']:,} bytes, "
              f"load {entry['load']}", flush=True)
        for p in problems[:10]:
            print("  " + p[:600], flush=True)
    report["disagreements"] = disagreements
    report["load_end"] = load_avg()
    print(f"load average at end: {report['load_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
