#!/usr/bin/env python3
"""Turns ring_bench's JSON output into the Markdown ratio table of docs/BENCHMARKS.md.

Usage:
  ring_bench --benchmark_format=json [...] | tests/bench/ring_ratios.py
  ring_bench --benchmark_out=ring.json --benchmark_out_format=json [...]
  tests/bench/ring_ratios.py ring.json

ring_bench names its benchmarks "BM_<case>/<peer>[/real_time|/manual_time]". For each
(case, peer) this takes the median items/s: the median of the per-repetition rows when
they are present, else the "median" aggregate (--benchmark_report_aggregates_only), else
the single row of a run without repetitions. Benchmarks that failed (SkipWithError)
show their error instead of a number. --spread adds a table of the coefficient of
variation (stddev / mean) of each benchmark's repetitions, to show how noisy the run was.
"""

import argparse
import json
import statistics
import sys

PEERS = ("tidewatch", "moodycamel", "boost")
# Registration order of ring_bench; cases it does not know go after these.
CASE_ORDER = (
    "Uncontended_Single",
    "Uncontended_Batch",
    "1P1C_Single",
    "1P1C_Batch",
    "2P2C_Single",
    "2P2C_Batch",
)


def parse_name(run_name):
    """'BM_1P1C_Single/tidewatch/manual_time' -> ('1P1C_Single', 'tidewatch')."""
    parts = run_name.split("/")
    if len(parts) < 2 or not parts[0].startswith("BM_"):
        return None
    return parts[0][len("BM_"):], parts[1]


def collect(benchmarks):
    """Returns ({(case, peer): median items/s}, {(case, peer): cv}, {(case, peer): error},
    repetitions)."""
    per_rep = {}    # (case, peer) -> [items/s of each repetition]
    medians = {}    # (case, peer) -> the "median" aggregate
    cvs = {}        # (case, peer) -> the "cv" aggregate (a fraction)
    errors = {}
    for b in benchmarks:
        key = parse_name(b.get("run_name", b["name"]))
        if key is None:
            continue
        if b.get("error_occurred"):
            errors[key] = b.get("error_message", "error")
            continue
        rate = b.get("items_per_second")
        if rate is None:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = rate
            elif b.get("aggregate_name") == "cv":
                cvs[key] = rate
        else:
            per_rep.setdefault(key, []).append(rate)

    rates = dict(medians)
    rates.update({key: statistics.median(v) for key, v in per_rep.items()})
    cvs.update({key: statistics.stdev(v) / statistics.mean(v)
                for key, v in per_rep.items() if len(v) > 1})
    reps = max((len(v) for v in per_rep.values()), default=0)
    if not per_rep and medians:
        reps = max((b.get("repetitions", 0) for b in benchmarks), default=0)
    return rates, cvs, errors, reps


def fmt_rate(rate):
    return "%.1f M" % (rate / 1e6)


def fmt_ratio(ours, theirs):
    if ours is None or theirs is None or theirs == 0:
        return "n/a"
    return "%.2f×" % (ours / theirs)


def ordered_cases(keys):
    cases = {case for case, _ in keys}
    return [c for c in CASE_ORDER if c in cases] + sorted(cases - set(CASE_ORDER))


def render(rates, errors, reps):
    ordered = ordered_cases(list(rates) + list(errors))

    lines = [
        "| case | tidewatch items/s | moodycamel items/s | boost items/s "
        "| ours/moodycamel | ours/boost |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for case in ordered:
        cells = []
        for peer in PEERS:
            key = (case, peer)
            if key in rates:
                cells.append(fmt_rate(rates[key]))
            elif key in errors:
                cells.append("error: " + errors[key])
            else:
                cells.append("n/a")
        ours = rates.get((case, "tidewatch"))
        cells.append(fmt_ratio(ours, rates.get((case, "moodycamel"))))
        cells.append(fmt_ratio(ours, rates.get((case, "boost"))))
        lines.append("| %s | %s |" % (case, " | ".join(cells)))
    if reps > 1:
        lines.append("")
        lines.append("Medians over %d repetitions." % reps)
    return "\n".join(lines)


def render_spread(cvs):
    lines = [
        "| case | tidewatch cv | moodycamel cv | boost cv |",
        "|---|---:|---:|---:|",
    ]
    for case in ordered_cases(cvs):
        cells = ["%.0f%%" % (100 * cvs[(case, p)]) if (case, p) in cvs else "n/a" for p in PEERS]
        lines.append("| %s | %s |" % (case, " | ".join(cells)))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="?", help="ring_bench JSON output (default: stdin)")
    parser.add_argument("--spread", action="store_true",
                        help="also print the coefficient of variation of the repetitions")
    args = parser.parse_args()

    if args.json:
        with open(args.json, encoding="utf-8") as f:
            data = json.load(f)
    else:
        data = json.load(sys.stdin)

    rates, cvs, errors, reps = collect(data.get("benchmarks", []))
    if not rates and not errors:
        sys.exit("ring_ratios.py: no BM_<case>/<peer> benchmarks with items_per_second found")
    print(render(rates, errors, reps))
    if args.spread:
        print()
        print(render_spread(cvs) if cvs else "(no repetitions: no spread to show)")


if __name__ == "__main__":
    main()
