#!/usr/bin/env python3
"""Turns bench/compare's results.jsonl into docs/performance.md and docs/performance.svg.

Their Spanish forms, docs/es/rendimiento.md and docs/es/rendimiento.svg, come from those two
through bench/render_es.py.

Only the standard library: the chart is written as SVG by hand, so the report renders on a
machine with no internet and no plotting package. The prose under "What limits the figures"
comes from bench/analysis.md, written by a person after profiling; everything else here is
computed from this run's measurements.
"""
import argparse
import json
import os
import sys

import render_es

SERVERS = ["echo_server", "server_05", "server_06", "server_07", "socat", "python", "tokio"]
LABEL = {
    "echo_server": "echo_server",
    "server_05": "server_05 (line)",
    "server_06": "server_06 (line, mio loop)",
    "server_07": "server_07 (line, tokio tasks)",
    "socat": "socat",
    "python": "Python threads",
    "tokio": "tokio echo",
}
CONNS = [1, 10, 100, 1000, 10000]
SIZES = [64, 16384]
COLORS = {
    "echo_server": "#d62728",
    "server_05": "#ff7f0e",
    "server_06": "#8c564b",
    "server_07": "#e377c2",
    "socat": "#1f77b4",
    "python": "#2ca02c",
    "tokio": "#9467bd",
}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def fmt_rate(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def size_label(size):
    return "16 KiB" if size == 16384 else f"{size} B"


class Results:
    def __init__(self, rows):
        # Echo cells run in rounds (group echo-round1, echo-round2, ...): keep each cell's best
        # round as group "echo", and how far apart the rounds were.
        best = {}
        self.spread = {}
        for row in rows:
            if not row.get("group", "").startswith("echo-round") or "report" not in row:
                continue
            rep = row["report"]
            key = (row["server"], rep.get("connections"), rep.get("size"))
            rate = rep.get("messages_per_s") or 0
            if key not in best or rate > (best[key]["report"].get("messages_per_s") or 0):
                best[key] = dict(row, group="echo")
            low, high = self.spread.get(key, (rate, rate))
            self.spread[key] = (min(low, rate), max(high, rate))
        # Bulk, ping-pong and iperf3 also run ROUNDS times: keep each one's best.
        keep = {"bulk": "mb_per_s", "pingpong": "messages_per_s", "limit": "mb_per_s"}
        best_single = {}
        for i, row in enumerate(rows):
            field = keep.get(row.get("group"))
            if field is None or "report" not in row:
                continue
            key = (row["group"], row["server"])
            value = row["report"].get(field) or 0
            if key not in best_single or value > best_single[key][1]:
                best_single[key] = (i, value)
        chosen = {i for i, _ in best_single.values()}
        rows = [row for i, row in enumerate(rows)
                if i in chosen or row.get("group") not in keep or "report" not in row]
        self.rows = rows + list(best.values())

    def worst_spread(self, size):
        ratios = [(high / low, key) for key, (low, high) in self.spread.items()
                  if key[2] == size and low > 0]
        return max(ratios) if ratios else None

    def find(self, group, server=None, **match):
        out = []
        for row in self.rows:
            if row.get("group") != group or "report" not in row:
                continue
            if server is not None and row.get("server") != server:
                continue
            report = row["report"]
            if all(report.get(k) == v for k, v in match.items()):
                out.append(row)
        return out

    def one(self, group, server=None, **match):
        found = self.find(group, server, **match)
        return found[0]["report"] if found else None

    def value(self, field, group, server=None, **match):
        report = self.one(group, server, **match)
        if report is None or report.get(field) is None:
            return None
        return report[field]

    def skipped(self):
        return [row for row in self.rows if "skipped" in row]


def cell(report, field="messages_per_s"):
    """A figure, flagged when its run had errors (the figure is then not a fair one)."""
    if report is None:
        return "–"
    text = fmt_rate(report.get(field))
    if report.get("errors"):
        text += f" ⚠{report['errors']} err"
    return text


def echo_tables(r, out):
    for size in SIZES:
        out.append(f"\n#### Messages per second, {size_label(size)} messages\n")
        head = ["connections"] + [LABEL[s] for s in SERVERS]
        head += ["echo_server ÷ socat", "echo_server ÷ tokio", "echo_server ÷ Python",
                 "server_05 ÷ Python", "server_06 ÷ tokio", "server_06 ÷ server_05",
                 "server_07 ÷ tokio"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for conns in CONNS:
            reports = {s: r.one("echo", s, connections=conns, size=size) for s in SERVERS}
            rates = {s: (reports[s] or {}).get("messages_per_s") for s in SERVERS}
            line = [str(conns)] + [cell(reports[s]) for s in SERVERS]
            line += [
                fmt_ratio(rates["echo_server"], rates["socat"]),
                fmt_ratio(rates["echo_server"], rates["tokio"]),
                fmt_ratio(rates["echo_server"], rates["python"]),
                fmt_ratio(rates["server_05"], rates["python"]),
                fmt_ratio(rates["server_06"], rates["tokio"]),
                fmt_ratio(rates["server_06"], rates["server_05"]),
                fmt_ratio(rates["server_07"], rates["tokio"]),
            ]
            out.append("| " + " | ".join(line) + " |")
        spread = r.worst_spread(size)
        if spread:
            ratio, (server, conns, _) = spread
            out.append(f"\nEach cell is the best of its rounds; the rounds of a cell differed "
                       f"by up to {ratio:.2f}× ({LABEL.get(server, server)}, {conns} "
                       f"connections), a measure of this run's noise.")
    out.append("\n#### Round trip under load, p50 / p99 in µs (same runs)\n")
    head = ["size", "connections"] + [LABEL[s] for s in SERVERS]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for size in SIZES:
        for conns in CONNS:
            line = [size_label(size), str(conns)]
            for s in SERVERS:
                rep = r.one("echo", s, connections=conns, size=size)
                line.append("–" if rep is None else
                            f"{rep['p50_us']:,.0f} / {rep['p99_us']:,.0f}")
            out.append("| " + " | ".join(line) + " |")


def memory_table(r, out):
    out.append("\n#### Peak resident memory in MiB while echoing (VmHWM, reset before each cell; "
               "the larger of the two sizes)\n")
    head = ["connections"] + [LABEL[s] for s in SERVERS]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for conns in CONNS:
        line = [str(conns)]
        for s in SERVERS:
            hwm = peak_hwm(r, s, conns)
            line.append("–" if hwm is None else f"{hwm / 1024:.1f}")
        out.append("| " + " | ".join(line) + " |")
    out.append("\nsocat forks a process per client: its figure is the parent's alone.")


def peak_hwm(r, server, conns):
    """The largest peak (KiB) the server reached in the echo cells with `conns` connections."""
    peaks = [x["report"]["hwm_kib"] for x in r.find("echo-memory", server)
             if x["report"].get("connections", 1000) == conns]
    return max(peaks) if peaks else None


def hold10k_table(r, out):
    rows = [(s, r.one("hold10k", s)) for s in SERVERS]
    rows = [(s, hold) for s, hold in rows if hold is not None]
    if not rows:
        return
    out.append("\n### 10,000 idle clients\n")
    out.append("`netbench connect --hold -c 10000 --sources 8`: 10,000 clients connect (from "
               "127.0.0.1 to 127.0.0.8, for enough ephemeral ports), stay silent for the cell, "
               "and every one is served again at the end. server_05 gets `--max-clients 10000` "
               "here and a watchdog that kills it past 2 GiB resident.\n")
    out.append("| server | served | errors | setup s | RSS before MiB | RSS with 10,000 idle MiB "
               "| peak after all 10,000 answer at once MiB | threads |")
    out.append("|---|---|---|---|---|---|---|---|")
    for s, hold in rows:
        held = hold.get("rss_held_kib", hold["rss_peak_kib"]) / 1024
        peak = max(hold["rss_peak_kib"], hold["hwm_kib"]) / 1024
        out.append(f"| {LABEL[s]} | {hold['held']} | {hold['errors']} | "
                   f"{hold['setup_seconds']:.1f} | {hold['rss_before_kib'] / 1024:.1f} | "
                   f"{held:.1f} | {peak:.1f} | {hold.get('threads', '–')} |")


def crosscheck_table(r, out):
    rows = r.find("crosscheck")
    if not rows:
        return
    out.append("\n### Cross-check with an independent load generator\n")
    out.append("`tcp-echo-benchmark` (tokio's multi-threaded runtime, whose two worker "
               "threads here share the client core) against the same servers, 64-byte "
               "messages, one round. Compare the ratios to socat in the last two columns.\n")
    out.append("| server | connections | tcp-echo-benchmark msg/s | netbench msg/s | "
               "÷ socat (tcp-echo-benchmark) | ÷ socat (netbench) |")
    out.append("|---|---|---|---|---|---|")
    for row in rows:
        s, conns = row["server"], row["report"]["connections"]
        theirs = row["report"]["messages_per_s"]
        ours = r.value("messages_per_s", "echo", s, connections=conns, size=64)
        socat_theirs = next((x["report"]["messages_per_s"] for x in rows
                             if x["server"] == "socat" and x["report"]["connections"] == conns),
                            None)
        socat_ours = r.value("messages_per_s", "echo", "socat", connections=conns, size=64)
        out.append(f"| {LABEL.get(s, s)} | {conns} | {fmt_rate(theirs)} | {fmt_rate(ours)} | "
                   f"{fmt_ratio(theirs, socat_theirs)} | {fmt_ratio(ours, socat_ours)} |")


def limits_tables(r, out):
    out.append("\n### The machine's limits: bulk throughput and the bare round trip\n")
    out.append("Each figure here is the best of its rounds.\n")
    iperf = r.value("mb_per_s", "limit", "iperf3")
    out.append("Bulk: `netbench bulk` streams 64 KiB writes through each echo server on one "
               "connection and verifies every byte that comes back; the rate counts verified "
               "bytes (each byte crosses loopback twice). `iperf3` sends one way only.\n")
    out.append("| peer | MB/s | ÷ iperf3 |")
    out.append("|---|---|---|")
    out.append(f"| iperf3 (one way, the limit) | {fmt_rate(iperf)} | 1.00× |")
    for s in ["raw-echo"] + SERVERS:
        rep = r.one("bulk", s)
        if rep is not None:
            name = "raw blocking echo (netbench raw-echo)" if s == "raw-echo" else LABEL[s]
            out.append(f"| {name} | {cell(rep, 'mb_per_s')} | "
                       f"{fmt_ratio(rep.get('mb_per_s'), iperf)} |")
    out.append("\nRound trip: `netbench pingpong` is one blocking connection with one 2-byte "
               "message in flight (one `write` + one `read` per round trip on the client). "
               "Against `netbench raw-echo` (the same on the server side) it is the floor.\n")
    floor = r.value("p50_us", "pingpong", "raw-echo")
    out.append("| server | round trips/s | p50 µs | p99 µs | p50 ÷ floor |")
    out.append("|---|---|---|---|---|")
    same = r.one("pingpong", "raw-echo-same-core")
    if same:
        out.append(f"| raw echo, both ends on one core | {fmt_rate(same['messages_per_s'])} | "
                   f"{same['p50_us']:.1f} | {same['p99_us']:.1f} | "
                   f"{fmt_ratio(same['p50_us'], floor)} |")
    for s in ["raw-echo"] + SERVERS:
        rep = r.one("pingpong", s)
        if rep is None:
            continue
        name = "raw echo (the floor)" if s == "raw-echo" else LABEL[s]
        out.append(f"| {name} | {cell(rep)} | {rep['p50_us']:.1f} | {rep['p99_us']:.1f} | "
                   f"{fmt_ratio(rep['p50_us'], floor)} |")


def connection_tables(r, out):
    out.append("\n### Connections\n")
    out.append("Opened, served once (one 16-byte round trip, or server_05's greeting) and "
               "closed by 8 clients in a loop; then 1,000 clients held open at once, every one "
               "served again at the end, with the server's resident memory from "
               "`/proc/PID/status`.\n")
    out.append("The last column is the server's peak resident memory (VmHWM, reset before "
               "each cell) during the 1,000-connection cells of the echo table above: 1,000 "
               "clients echoing 64-byte or 16 KiB messages as fast as they can.\n")
    out.append("| server | connections/s | 1,000 held: served | errors | setup s | "
               "RSS idle MiB | RSS with 1,000 held MiB | peak while held MiB | "
               "peak with 1,000 busy MiB |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for s in SERVERS:
        rate = r.one("connect", s)
        hold = r.one("hold", s)
        if rate is None and hold is None:
            continue
        mib = (lambda k: "–" if hold is None or not hold.get(k) else
               f"{hold[k] / 1024:.1f}")
        rss_note = " (parent only: socat forks a process per client)" if s == "socat" else ""
        out.append(
            f"| {LABEL[s]} | {cell(rate, 'connections_per_s')} | "
            f"{'–' if hold is None else hold['held']} | "
            f"{'–' if hold is None else hold['errors']} | "
            f"{'–' if hold is None else format(hold['setup_seconds'], '.1f')} | "
            f"{mib('rss_before_kib')} | {mib('rss_peak_kib')}{rss_note} | {mib('hwm_kib')} | "
            f"{busy_mib(r, s)} |")


def busy_hwm(r, server):
    """The largest peak (KiB) the server reached in any 1,000-connection echo cell."""
    return peak_hwm(r, server, 1000)


def busy_mib(r, server):
    hwm = busy_hwm(r, server)
    return "–" if hwm is None else f"{hwm / 1024:.1f}"


def ntp_table(r, out):
    out.append("\n### NTP: ntp_server vs chronyd\n")
    out.append("`netbench ntp`: each client has one 48-byte mode-3 request in flight and "
               "checks the reply (mode 4, non-zero stratum, origin = our transmit time).\n")
    out.append("| server | clients | requests/s | p50 µs | p99 µs | errors | ÷ chronyd |")
    out.append("|---|---|---|---|---|---|---|")
    for s in ["ntp_server", "chronyd"]:
        for rep in [x["report"] for x in r.find("ntp", s)]:
            chrony = r.value("requests_per_s", "ntp", "chronyd",
                             connections=rep["connections"])
            out.append(f"| {s} | {rep['connections']} | {fmt_rate(rep['requests_per_s'])} | "
                       f"{rep['p50_us']:.1f} | {rep['p99_us']:.1f} | {rep['errors']} | "
                       f"{fmt_ratio(rep['requests_per_s'], chrony)} |")


def best(r, group, server, field):
    values = [x["report"].get(field) for x in r.find(group, server)]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def http_table(r, out):
    out.append("\n### HTTP: netutil::http vs curl, a 100 MB file from nginx\n")
    curl = best(r, "http", "curl", "mb_per_s")
    ours = best(r, "http", "netutil::http", "best_mb_per_s")
    out.append("Best of three fetches each (the file is in the page cache; nginx uses "
               "`sendfile`).\n")
    out.append("| client | MB/s | ÷ curl |")
    out.append("|---|---|---|")
    out.append(f"| curl | {fmt_rate(curl)} | 1.00× |")
    out.append(f"| netutil::http, streamed (`netbench http`) | {fmt_rate(ours)} | "
               f"{fmt_ratio(ours, curl)} |")
    collected = best(r, "http", "netutil::http collected", "best_mb_per_s")
    if collected is not None:
        out.append(f"| netutil::http, collected in memory (`netbench http --collect`) | "
                   f"{fmt_rate(collected)} | {fmt_ratio(collected, curl)} |")


def verdict(value, target, higher=True):
    if value is None:
        return "not measured"
    ok = value >= target if higher else value <= target
    if ok:
        return "✅ met"
    close = value >= 0.95 * target if higher else value <= 1.05 * target
    return "❌ missed by < 5 % (within this run's noise)" if close else "❌ missed"


def min_ratio(r, a, b, conns, sizes):
    worst = None
    for size in sizes:
        for c in conns:
            x = r.value("messages_per_s", "echo", a, connections=c, size=size)
            y = r.value("messages_per_s", "echo", b, connections=c, size=size)
            if x is None or y is None or y == 0:
                continue
            ratio = x / y
            if worst is None or ratio < worst[0]:
                worst = (ratio, c, size)
    return worst


def grade_rows(r):
    return sorted((x["report"] for x in r.find("grade")), key=lambda rep: rep["jobs"])


def grade_ideal(rep):
    """What N jobs at once could do at best: the submissions' total time shared out over the
    jobs, or the slowest submission, whichever is longer."""
    return max(rep["sum_seconds"] / rep["jobs"], rep["slowest_seconds"])


def grade_table(r, out):
    out.append("\n### Grading a class: `coursecheck grade` on 60 submissions\n")
    out.append("60 Python answers to server_05 (44 correct, 8 that serve one client at a time, "
               "6 that take one `recv` as a line, 2 that never listen), `--timeout 3`. "
               "*Ideal* is the submissions' total time divided by the jobs, or the slowest "
               "submission if that is longer. Most of a check is waiting for a reply or a "
               "timeout, so more jobs than cores still help.\n")
    out.append("| jobs | sandboxed | wall s | total of the submissions s | slowest s | ideal s | "
               "wall ÷ ideal | all 44 correct pass | same results as `--jobs 1` |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for rep in grade_rows(r):
        ideal = grade_ideal(rep)
        out.append(f"| {rep['jobs']} | {'yes' if rep['sandboxed'] else 'no'} | "
                   f"{rep['seconds']} | {rep['sum_seconds']} | {rep['slowest_seconds']} | "
                   f"{ideal:.1f} | {rep['seconds'] / ideal:.2f}× | "
                   f"{'yes' if rep['passed'] == 44 else 'no (' + str(rep['passed']) + ')'} | "
                   f"{'yes' if rep['same_results_as_jobs_1'] else 'no'} |")


def targets_table(r, out, cores):
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")

    def ratio_row(title, a, b, conns, goal):
        worst = min_ratio(r, a, b, conns, SIZES)
        if worst is None:
            out.append(f"| {title} | – | not measured |")
        else:
            ratio, c, size = worst
            out.append(f"| {title} | lowest {ratio:.2f}× (at {c} conn., {size_label(size)}) | "
                       f"{verdict(ratio, goal)} |")

    for server in ["echo_server", "server_05"]:
        for peer in ["socat", "tokio"]:
            ratio_row(f"{LABEL[server]} ≥ {LABEL[peer]} msg/s at 1–100 connections",
                      server, peer, [1, 10, 100], 1.0)
        ratio_row(f"{LABEL[server]} ≥ 1.2 × Python msg/s (all cells)", server, "python",
                  CONNS, 1.2)
    iperf = r.value("mb_per_s", "limit", "iperf3")
    bulk = r.value("mb_per_s", "bulk", "echo_server")
    ratio = bulk / iperf if bulk is not None and iperf else None
    out.append(f"| echo_server bulk ≥ 0.5 × iperf3 | "
               f"{'–' if ratio is None else f'{ratio:.2f}× ({bulk:,.0f} of {iperf:,.0f} MB/s)'}"
               f" | {verdict(ratio, 0.5)} |")
    floor = r.value("p50_us", "pingpong", "raw-echo")
    for s in ["echo_server", "server_05"]:
        p50 = r.value("p50_us", "pingpong", s)
        ratio = p50 / floor if p50 is not None and floor else None
        out.append(f"| {LABEL[s]} round-trip p50 ≤ 1.3 × raw ping-pong | "
                   f"{'–' if ratio is None else f'{ratio:.2f}× ({p50:.1f} vs {floor:.1f} µs)'}"
                   f" | {verdict(ratio, 1.3, higher=False)} |")
    for s in ["echo_server", "server_05"]:
        hold = r.one("hold", s)
        if hold is None:
            out.append(f"| {LABEL[s]}: 1,000 clients, no error, RSS < 64 MiB | – | "
                       "not measured |")
            continue
        peak = max(hold["rss_peak_kib"], hold["hwm_kib"]) / 1024
        busy = busy_hwm(r, s)
        busy_errors = sum((x["report"].get("errors") or 0)
                          for x in r.find("echo", s, connections=1000))
        ok = hold["held"] == 1000 and hold["errors"] == 0 and peak < 64
        out.append(f"| {LABEL[s]}: 1,000 idle clients, no error, RSS < 64 MiB | "
                   f"{hold['held']} served, {hold['errors']} errors, {peak:.1f} MiB | "
                   f"{'✅ met' if ok else '❌ missed'} |")
        if busy is not None:
            ok = busy / 1024 < 64 and busy_errors == 0
            out.append(f"| {LABEL[s]}: 1,000 busy clients (echo table), no error, "
                       f"RSS < 64 MiB | {busy_errors} errors, peak {busy / 1024:.1f} MiB | "
                       f"{'✅ met' if ok else '❌ missed'} |")
    ratio_row("server_06 ≥ tokio echo msg/s at 100 and 1,000 connections", "server_06",
              "tokio", [100, 1000], 1.0)
    ratio_row("server_06 ≥ 1.2 × server_05 msg/s at 1,000 connections", "server_06",
              "server_05", [1000], 1.2)
    for s in ["server_06", "server_07"]:
        hold = r.one("hold10k", s)
        if hold is None:
            out.append(f"| {LABEL[s]}: 10,000 idle clients, no error, RSS ≤ 64 MiB | – | "
                       "not measured |")
            continue
        idle = hold.get("rss_held_kib", hold["rss_peak_kib"]) / 1024
        ok = hold["held"] == 10000 and hold["errors"] == 0 and idle <= 64
        out.append(f"| {LABEL[s]}: 10,000 idle clients, no error, RSS ≤ 64 MiB | "
                   f"{hold['held']} served, {hold['errors']} errors, {idle:.1f} MiB idle | "
                   f"{'✅ met' if ok else '❌ missed'} |")
    ratios = []
    for rep in [x["report"] for x in r.find("ntp", "ntp_server")]:
        theirs = r.value("requests_per_s", "ntp", "chronyd", connections=rep["connections"])
        if theirs:
            ratios.append((rep["requests_per_s"] / theirs, rep["connections"]))
    measured = ", ".join(f"{ratio:.2f}× with {c} client{'s' if c > 1 else ''}"
                         for ratio, c in ratios)
    out.append(f"| ntp_server ≥ chronyd requests/s | {measured or '–'} | "
               f"{verdict(min(ratios)[0] if ratios else None, 1.0)} |")
    curl = best(r, "http", "curl", "mb_per_s")
    ours = best(r, "http", "netutil::http", "best_mb_per_s")
    ratio = ours / curl if ours is not None and curl else None
    out.append(f"| netutil::http ≥ 0.8 × curl | {'–' if ratio is None else f'{ratio:.2f}×'} | "
               f"{verdict(ratio, 0.8)} |")
    graded = grade_rows(r)
    at_cores = next((rep for rep in graded if str(rep["jobs"]) == str(cores)), None)
    if at_cores is None:
        out.append("| grade: 60 submissions with `--jobs` = cores ≤ 1.25 × the ideal, the "
                   "same results as `--jobs 1` | – | not measured |")
    else:
        ratio = at_cores["seconds"] / grade_ideal(at_cores)
        ok = ratio <= 1.25 and at_cores["same_results_as_jobs_1"]
        out.append(f"| grade: 60 submissions with `--jobs` = cores ≤ 1.25 × the ideal, the "
                   f"same results as `--jobs 1` | {ratio:.2f}× ({at_cores['seconds']} s, "
                   f"ideal {grade_ideal(at_cores):.1f} s), "
                   f"{'same' if at_cores['same_results_as_jobs_1'] else 'different'} results | "
                   f"{'✅ met' if ok else '❌ missed'} |")


def svg_chart(r, path):
    """Three panels of lines against the number of clients (1 to 10,000, log scale):
    messages/s with 64-byte and with 16 KiB messages, and the server's peak memory."""
    width, height = 1280, 400
    panel_w, top, bottom, left, gap = 340, 50, 300, 70, 75
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    panels = [
        ("Messages/s, 64-byte messages",
         lambda s, c: r.value("messages_per_s", "echo", s, connections=c, size=64)),
        ("Messages/s, 16 KiB messages",
         lambda s, c: r.value("messages_per_s", "echo", s, connections=c, size=16384)),
        ("Peak memory while echoing, MiB",
         lambda s, c: (lambda k: None if k is None else k / 1024)(peak_hwm(r, s, c))),
    ]
    step = panel_w / (len(CONNS) - 1)
    for p, (title, value) in enumerate(panels):
        x0 = left + p * (panel_w + gap)
        values = {(s, c): value(s, c) for s in SERVERS for c in CONNS}
        peak = max([v for v in values.values() if v] or [1])
        parts.append(f'<text x="{x0 + panel_w / 2}" y="25" text-anchor="middle" '
                     f'font-size="14" font-weight="bold">{title}</text>')
        for i in range(5):
            y = bottom - (bottom - top) * i / 4
            parts.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + panel_w}" y2="{y}" '
                         f'stroke="#ddd"/>')
            parts.append(f'<text x="{x0 - 5}" y="{y + 4}" text-anchor="end">'
                         f'{fmt_rate(peak * i / 4)}</text>')
        for g, c in enumerate(CONNS):
            parts.append(f'<text x="{x0 + g * step}" y="{bottom + 16}" '
                         f'text-anchor="middle">{c:,}</text>')
        parts.append(f'<text x="{x0 + panel_w / 2}" y="{bottom + 32}" '
                     f'text-anchor="middle">clients</text>')
        for s in SERVERS:
            points = [(x0 + g * step, bottom - (bottom - top) * values[(s, c)] / peak, c)
                      for g, c in enumerate(CONNS) if values[(s, c)]]
            if len(points) > 1:
                path_d = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
                parts.append(f'<polyline points="{path_d}" fill="none" '
                             f'stroke="{COLORS[s]}" stroke-width="2"/>')
            for x, y, c in points:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLORS[s]}">'
                             f'<title>{LABEL[s]}, {c:,} client{"" if c == 1 else "s"}: '
                             f'{fmt_rate(values[(s, c)])}</title></circle>')
        parts.append(f'<line x1="{x0}" y1="{bottom}" x2="{x0 + panel_w}" y2="{bottom}" '
                     f'stroke="black"/>')
    lx = left
    for s in SERVERS:
        parts.append(f'<rect x="{lx}" y="{height - 30}" width="12" height="12" '
                     f'fill="{COLORS[s]}"/>')
        parts.append(f'<text x="{lx + 16}" y="{height - 20}">{LABEL[s]}</text>')
        # Room for the longer of the English label and the Spanish one (docs/es's chart is
        # this one with its words replaced): about 6.6 px per character at 12 px.
        longest = max(len(LABEL[s]), len(render_es.chart_words(LABEL[s])))
        lx += 16 + round(6.6 * longest) + 24
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("docs")
    for name in ["date", "cores", "kernel", "cpu", "pinning", "seconds", "load", "commit"]:
        parser.add_argument(f"--{name}", default="?")
    args = parser.parse_args()
    r = Results(load(args.results))
    out = ["# Performance: the kit's servers and clients against real peers", "",
           "*[Lesson index](README.md) · [índice en español](es/README.md) · "
           "[many clients: server_06 and server_07](05-many-clients.md)*", ""]
    out.append("*Generated by `bench/compare` (do not edit by hand: re-run it). The prose in "
               "the last section comes from `bench/analysis.md`.*\n")
    out.append("| | |")
    out.append("|---|---|")
    out.append(f"| date | {args.date} |")
    out.append(f"| machine | {args.cores} cores ({args.cpu}), Linux {args.kernel} |")
    out.append(f"| where things ran | {args.pinning} |")
    out.append(f"| load average (1/5/15 min) before → after | {args.load} (other work on the "
               f"machine; the *after* figure also counts the benchmark's own server threads) |")
    out.append(f"| commit | {args.commit} |")
    out.append(f"| seconds per cell | {args.seconds} |")
    out.append("\nReproduce with one command: `bench/compare` (30–35 minutes; it installs "
               "missing peers with apt-get and `cargo install`). Ratios are within this run "
               "only: absolute figures move with the machine and its load.\n")
    out.append("## Where the kit stands against its targets\n")
    targets_table(r, out, args.cores)
    out.append("\n## Echo servers at 1 to 10,000 connections\n")
    out.append("`netbench echo`: every connection sends a message and waits for its echo "
               "(server_05: a line, answered by `OK...` + the line). Message sizes count what "
               "is sent; a ⚠ marks a run that had errors. All peers ran at once and each cell "
               "measured them one after another, in rounds, so load from elsewhere on the "
               "machine falls on every peer of a cell alike.\n")
    out.append("![messages per second and memory against clients](performance.svg)\n")
    echo_tables(r, out)
    memory_table(r, out)
    crosscheck_table(r, out)
    limits_tables(r, out)
    connection_tables(r, out)
    hold10k_table(r, out)
    ntp_table(r, out)
    http_table(r, out)
    grade_table(r, out)
    out.append("\n### Cold build\n")
    cold = r.value("seconds", "build", "cold")
    many = r.value("seconds", "build", "cold-many-clients")
    tls = r.value("seconds", "build", "cold-tls")
    out.append(f"`cargo build --examples` (debug, as students run it) in a fresh "
               f"`CARGO_TARGET_DIR`, dependencies already downloaded: "
               f"**{'not measured' if cold is None else f'{cold} s'}**; with "
               f"`--features many-clients` (server_06 and server_07, which bring mio and "
               f"tokio): **{'not measured' if many is None else f'{many} s'}**; with "
               f"`--features tls` (socket_06 and https_server, which bring rustls and ring): "
               f"**{'not measured' if tls is None else f'{tls} s'}**. netbench's "
               "tokio is not part of the first: it lives in its own workspace crate, and the "
               "lessons' tokio is optional.\n")
    skipped = r.skipped()
    out.append("## Rows that could not be measured\n")
    if skipped:
        for row in skipped:
            out.append(f"- **{row['group']} / {row['server']}**: {row['skipped']}")
    else:
        out.append("None: every row above was measured in this run.")
    out.append("\n## Exact commands\n")
    out.append("Servers were started by `bench/compare` on free 127.0.0.1 ports (`--port P`); "
               "`P` below is the port of that run.\n")
    out.append("<details><summary>every measurement of this run</summary>\n\n```text")
    seen = set()
    for row in r.rows:
        cmd = row.get("cmd")
        if cmd and cmd not in seen:
            seen.add(cmd)
            out.append(f"[{row['server']}] {cmd}")
    out.append("```\n</details>\n")
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            out.append(f.read().rstrip() + "\n")
    english = "\n".join(out) + "\n"
    with open(os.path.join(args.docs, "performance.md"), "w") as f:
        f.write(english)
    svg_chart(r, os.path.join(args.docs, "performance.svg"))
    # The same report in Spanish (bench/render_es.py), next to the Spanish notes.
    analysis_es = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.es.md")
    prose_es = None
    if os.path.exists(analysis_es):
        with open(analysis_es) as f:
            prose_es = f.read()
    else:
        print("render.py: no bench/analysis.es.md: the Spanish report has no profiling notes",
              file=sys.stderr)
    spanish = render_es.to_spanish(english, prose_es)
    for line in render_es.untranslated(spanish):
        print(f"render.py: not translated in docs/es/rendimiento.md: {line[:120]}", file=sys.stderr)
    if os.path.isdir(os.path.join(args.docs, "es")):
        with open(os.path.join(args.docs, "es", "rendimiento.md"), "w") as f:
            f.write(spanish)
        with open(os.path.join(args.docs, "performance.svg")) as f:
            chart = f.read()
        with open(os.path.join(args.docs, "es", "rendimiento.svg"), "w") as f:
            f.write(render_es.chart_to_spanish(chart))


if __name__ == "__main__":
    sys.exit(main())
