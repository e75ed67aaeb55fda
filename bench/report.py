"""BENCHMARKS.md from the results of bench/run.py: the machine, the versions, each
benchmark's figures and each target of issue 7, met or not."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from game_events import settings
from game_events.analytics.formatting import table


def machine() -> list[str]:
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    cpus = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")]
    return [f"- cores: {os.cpu_count()} ({cpus[0] if cpus else 'unknown CPU'})",
            f"- memory: {int(mem.split()[1]) // 1024} MiB",
            f"- load average when the report was written: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"- {platform.system()} {platform.release()}, Python {platform.python_version()}",
            "- versions (stack/versions.env): " + ", ".join(f"{k} {v}" for k, v in settings.VERSIONS.items())]


def profile(title: str, prof: dict | None) -> list[str]:
    if not prof:
        return []
    md = ["", f"{title} (py-spy, {prof['samples']} samples, from a separate run of a quarter of the requests so "
          "that the figures above were measured without a profiler): where the samples were taken, as % of "
          "all; threads waiting (`Condition.wait`, `select`) are sampled too.", ""]
    return md + table(["function, own time", "%", "function, with what it calls", "%"],
                      [[a[0], a[1], b[0], b[1]] for a, b in zip(prof["self"], prof["total"])]).splitlines()


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def command(scale: str, only: list[str] | None) -> str:
    if only:
        return f"python -m bench.run{' --smoke' if scale == 'smoke' else ''} --only {','.join(only)}"
    return "make bench-smoke" if scale == "smoke" else "make bench"


def measured(results: dict) -> list[str]:
    """When and on which commit each benchmark's figures were measured."""
    rows = []
    for name, (r, mtime) in results.items():
        m = r.get("measured") or {"at": time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime)),
                                  "commit": "not recorded"}
        rows.append([name, m["at"], m["commit"]])
    return table(["benchmark", "measured at", "commit"], rows).splitlines()


def render(out: Path, scale: str, seconds: float, ran: list[str] | None = None) -> str:
    files = {p.stem: (json.loads(p.read_text()), p.stat().st_mtime) for p in sorted(out.glob("*.json"))}
    r = {name: result for name, (result, _) in files.items()}
    every = ran is None or set(ran) >= set(r)
    md = [f"# Benchmarks ({scale} sizes)", "",
          f"Written by `{command(scale, None if every else ran)}` on "
          f"{time.strftime('%Y-%m-%d %H:%M')} in {seconds:.0f} s, with the whole stack running on this machine.",
          ("Every figure below was measured in this run." if every else
           f"This run measured {', '.join(ran)}; the other figures are the last results of earlier runs.") +
          (" Smoke sizes are far too small for the figures to mean anything; they only show that the scripts work."
           if scale == "smoke" else ""), ""]
    md += measured(files) + ["", "## Machine", ""]
    md += machine()
    targets = []
    if "ingest" in r:
        runs = r["ingest"]["runs"]
        md += ["", "## Ingest (`bench/ingest.py`)", "",
               f"ApacheBench, {r['ingest']['requests']} GET `/purchase_a_sword` per side and concurrency. Ours: "
               "gunicorn, `acks=all`, reply after Kafka's acknowledgement. Seed: Flask's development server, "
               "`producer.send` not waited for. CPU is the server process's own (Kafka's is not counted); "
               "\"in Kafka\" counts the run's events on the topic after the run.", ""]
        md += table(["concurrency", "ours req/s", "seed req/s", "ratio", "ours p50/p99 ms", "seed p50/p99 ms",
                     "ours CPU ms/req", "seed CPU ms/req", "ours 2xx in Kafka", "seed 2xx in Kafka"],
                    [[x["concurrency"], x["ours"]["requests_per_s"], x["seed"]["requests_per_s"], x["ratio_rps"],
                      f"{x['ours']['p50_ms']:.0f}/{x['ours']['p99_ms']:.0f}",
                      f"{x['seed']['p50_ms']:.0f}/{x['seed']['p99_ms']:.0f}",
                      x["ours"]["cpu_ms_per_request"], x["seed"]["cpu_ms_per_request"],
                      f"{x['ours']['in_kafka']}/{x['ours']['ok_2xx']} ({x['ours']['durable_pct']}%)",
                      f"{x['seed']['in_kafka']}/{x['seed']['ok_2xx']} ({x['seed']['durable_pct']}%)"]
                     for x in runs]).splitlines()
        md += profile(f"Our API at concurrency {runs[-1]['concurrency']}", runs[-1]["ours"].get("profile"))
        c32 = next((x for x in runs if x["concurrency"] == 32), None)
        targets.append(("ingest ≥ 3× the baseline's req/s at concurrency 32, every event durable",
                        f"{c32['ratio_rps']}×, {c32['ours']['durable_pct']}% durable" if c32 else "not run at 32",
                        None if c32 is None else c32["ratio_rps"] >= 3 and c32["ours"]["durable_pct"] == 100))
    if "batch" in r:
        b = r["batch"]
        md += ["", "## Batch endpoint (`bench/batch.py`)", "",
               f"ApacheBench, {b['requests']} POST `/events` of {b['events_per_request']} events each, "
               f"concurrency {b['concurrency']}.", ""]
        md += table(["events/s", "requests/s", "p50/p99 ms", "CPU ms/event", "events answered 2xx", "in Kafka"],
                    [[b["events_per_s"], b["requests_per_s"], f"{b['p50_ms']:.0f}/{b['p99_ms']:.0f}",
                      b["cpu_ms_per_event"], b["events_2xx"], b["in_kafka"]]]).splitlines()
        md += profile("Our API under the batch load", b.get("profile"))
        targets.append(("batch endpoint ≥ 50,000 events/s", f"{b['events_per_s']:,.0f} events/s",
                        b["events_per_s"] >= 50000))
    if "producer" in r:
        k = r["producer"]
        md += ["", "The Kafka client's own ceiling (`bench/producer.py`): the API's confluent-kafka producer "
               f"(its EventLog), {k['events']:,} events in rounds of 1000, every acknowledgement awaited, no HTTP: "
               f"**{k['events_per_s']:,.0f} events/s**, {k['cpu_ms_per_event']} ms CPU per event "
               f"({k['in_kafka']:,} in Kafka)."]
    if "drain" in r:
        d = r["drain"]
        md += ["", "## Streaming drain (`bench/drain.py`)", "",
               f"A backlog of {d['events']:,} events ({d['relevant']:,} not `default`) preloaded into a fresh topic, "
               "drained to parquet by each job from a cold checkpoint (`availableNow`; Spark's start-up not timed). "
               f"Ours reads at most {d['max_offsets_per_trigger']:,} offsets per batch.", ""]
        jobs = [("ours", "ours (column expressions, both tables, atomic file per batch)"),
                ("seed", "seed (Python UDF filter, from_json, file sink)"),
                ("floor", "floor (no filter, no parsing: each value written as it is)")]
        md += table(["job", "seconds", "events/s", "× seed", "rows landed", "batches: rows, addBatch s"],
                    [[label, d[k]["seconds"], d[k]["events_per_s"], round(d[k]["events_per_s"] / d["seed"]["events_per_s"], 2),
                      d[k]["rows_landed"], "; ".join(f"{b['rows']:,}, {b['ms']['addBatch'] / 1000:.1f}"
                                                     for b in d[k].get("batches", []))]
                     for k, label in jobs if k in d]).splitlines()
        md += ["", "Where each job's JVM spent its time (Java Flight Recorder, execution samples of the driver, "
               "where `local[2]` runs every task), as % of samples:", ""]
        profiled = [(k, label) for k, label in jobs if (d.get(k) or {}).get("profile")]
        names = sorted({b for k, _ in profiled for b, _ in d[k]["profile"]["buckets"]},
                       key=lambda b: -max(dict(d[k]["profile"]["buckets"]).get(b, 0) for k, _ in profiled))
        md += table(["time spent in"] + [f"{k} ({d[k]['profile']['samples']} samples)" for k, _ in profiled],
                    [[b] + [dict(d[k]["profile"]["buckets"]).get(b, "") for k, _ in profiled]
                     for b in names]).splitlines()
        for k, label in profiled:
            md += ["", f"Hottest methods, {k} (own time, % of samples): " +
                   "; ".join(f"`{m}` {p}" for m, p in d[k]["profile"]["self"][:6]) + "."]
        targets.append(("streaming drain ≥ 5× the UDF design", f"{d['ratio']}×", d["ratio"] >= 5))
    if "freshness" in r:
        f = r["freshness"]
        md += ["", "## Freshness (`bench/freshness.py`)", "",
               f"{f['rate']} events/s for {f['seconds']:.0f} s through the API; seconds from each 2xx reply to its row "
               f"in Presto, polled every {f['poll_interval_s']} s; stream trigger {f['trigger']}.", ""]
        md += table(["events", "visible", "p50 s", "p95 s", "max s"],
                    [[f["replied_2xx"], f["visible"], f["p50_s"], f["p95_s"], f["max_s"]]]).splitlines()
        targets.append(("freshness p95 ≤ 15 s", f"{f['p95_s']} s", f["p95_s"] <= 15))
    if "query" in r:
        q = r["query"]
        md += ["", "## Query latency and compaction (`bench/query.py`)", "",
               f"A table of small files ({q['events_per_file']:,} events each, as the stream lands them), queried "
               f"through Presto; median of {q['repeat']} runs after one warm-up, before and after `compact_events`.", ""]
        for x in q["runs"]:
            md += [f"### {x['events']:,} events: {x['files_before']} files → {x['files_after']} "
                   f"(compaction {x['compaction_s']} s)", ""]
            md += table(["query", "before s", "after s"],
                        [[k, v, x["after_s"][k]] for k, v in x["before_s"].items()]).splitlines()
            md.append("")
        big = max(q["runs"], key=lambda x: x["events"])
        t = big["after_s"]["count(*) group by event_type"]
        targets.append((f"`count(*) group by event_type` ≤ 2 s after compaction (10 M events)",
                        f"{t} s over {big['events']:,} events", t <= 2 if big["events"] >= 10_000_000 else None))
    md += ["", "## Targets (issue 7)", ""]
    md += table(["target", "measured", "verdict"],
                [[a, b, verdict(None if scale == "smoke" else c)] for a, b, c in targets]).splitlines()
    if scale == "smoke":
        md += ["", "Smoke sizes say nothing about the targets: run `make bench` on a quiet machine."]
    return "\n".join(md) + "\n"
