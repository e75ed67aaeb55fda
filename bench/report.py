"""BENCHMARKS.md from the results of bench/run.py: the machine, the versions, each
benchmark's figures and each target of issue 13 (and the metrics' cost), met or not. The sentences around the
figures, and the findings for a missed target, are in bench/findings.md."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from game_events import settings
from game_events.analytics.formatting import table


def sections(text: str) -> dict[str, str]:
    """The `## heading` sections of a markdown file, each joined into one paragraph."""
    found = {}
    for part in text.split("\n## ")[1:]:
        heading, _, body = part.partition("\n")
        found[heading.strip()] = " ".join(body.split("\n")).strip()
    return found


PROSE = sections((Path(__file__).parent / "findings.md").read_text())


def prose(key: str, **values) -> str:
    return PROSE[key].format(**values)


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
    md = ["", prose("profile", title=title, samples=prof["samples"]), ""]
    return md + table(["function, own time", "%", "function, with what it calls", "%"],
                      [[a[0], a[1], b[0], b[1]] for a, b in zip(prof["self"], prof["total"])]).splitlines()


def ranged(x: dict) -> str:
    """A median with its range over the rounds: 1234 (1100–1300)."""
    def fmt(v):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}"
    return f"{fmt(x['median'])} ({fmt(x['min'])}–{fmt(x['max'])})"


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


AB_TARGET = {"metrics": ("ingest with metrics on within {bound}% of metrics off (req/s, medians)", "with them on",
                         "rounds' on/off", "metrics"),
             "ids": ("ingest with client ids within {bound}% of ingest without (req/s, medians)", "with ids",
                     "rounds' with/without", "ids")}


def ab_section(m: dict, key: str, title: str, what: str, bound: float) -> tuple[list[str], tuple]:
    """The markdown of one A/B run of bench/metrics_cost.py, and its line in the targets."""
    md = ["", f"## {title} (`bench/metrics_cost.py{' --compare ids' if what == 'ids' else ''}`)", "",
          prose(key.replace("_", " "), **m), ""]
    md += table(["request", "concurrency", "on req/s", "off req/s", "on/off (per round)", "overhead",
                 "on p50/p99 ms", "off p50/p99 ms", "on CPU ms/req", "off CPU ms/req", "CPU on vs off",
                 "on 2xx in Kafka", "off 2xx in Kafka", "load (on; off)"],
                [[x["route"] + (f" ({x['events_per_request']} events)" if x["events_per_request"] > 1 else ""),
                  x["concurrency"], ranged(x["on"]["requests_per_s"]), ranged(x["off"]["requests_per_s"]),
                  f"{x['ratio_rps']} ({', '.join(map(str, x['ratio_per_round']))})", f"{x['overhead_pct']}%",
                  f"{x['on']['p50_ms']['median']:.0f}/{x['on']['p99_ms']['median']:.0f}",
                  f"{x['off']['p50_ms']['median']:.0f}/{x['off']['p99_ms']['median']:.0f}",
                  x["on"]["cpu_ms_per_request"]["median"], x["off"]["cpu_ms_per_request"]["median"],
                  "" if x["cpu_overhead_pct"] is None else f"{x['cpu_overhead_pct']:+}%",
                  f"{x['on']['in_kafka']}/{x['on']['events_2xx']} ({x['on']['durable_pct']}%)",
                  f"{x['off']['in_kafka']}/{x['off']['events_2xx']} ({x['off']['durable_pct']}%)",
                  f"{'/'.join(map(str, x['on']['load']))}; {'/'.join(map(str, x['off']['load']))}"]
                 for x in m["runs"]]).splitlines()
    label, side, rounds, tag = AB_TARGET[what]
    gets = [x for x in m["runs"] if x["route"].startswith("GET")]
    target = (label.format(bound=bound),
              "; ".join(f"c={x['concurrency']}: " + (f"{x['overhead_pct']}% fewer" if x["overhead_pct"] >= 0
                                                      else f"{-x['overhead_pct']}% more")
                        + f" req/s {side} ({ranged(x['on']['requests_per_s'])} vs "
                        f"{ranged(x['off']['requests_per_s'])}; {rounds} "
                        f"{min(x['ratio_per_round'])}–{max(x['ratio_per_round'])}), CPU per request "
                        + ("not measured" if x["cpu_overhead_pct"] is None else f"{x['cpu_overhead_pct']:+}%")
                        for x in gets) or "not run",
              all(x["overhead_pct"] <= bound for x in gets) if gets else None, tag)
    return md, target

def render(out: Path, scale: str, seconds: float, ran: list[str] | None = None, written: str | None = None) -> str:
    files = {p.stem: (json.loads(p.read_text()), p.stat().st_mtime) for p in sorted(out.glob("*.json"))}
    r = {name: result for name, (result, _) in files.items()}
    every = ran is None or set(ran) >= set(r)
    md = [f"# Benchmarks ({scale} sizes)", "",
          prose("written", command=command(scale, None if every else ran),
                written=written or time.strftime('%Y-%m-%d %H:%M'), seconds=seconds),
          (prose("all measured") if every else prose("some measured", ran=", ".join(ran))) +
          (" " + prose("smoke") if scale == "smoke" else ""), ""]
    md += measured(files) + ["", "## Machine", ""]
    md += machine()
    targets = []
    if "ingest" in r:
        ing = r["ingest"]
        runs = ing["runs"]
        md += ["", "## Ingest (`bench/ingest.py`)", "", prose("ingest", **ing), ""]
        md += table(["concurrency", "keep-alive", "ours req/s", "seed req/s", "ratio (per round)", "ours p50/p99 ms",
                     "seed p50/p99 ms", "ours CPU ms/req", "seed CPU ms/req", "ours 2xx in Kafka",
                     "seed 2xx in Kafka", "load (ours; seed)"],
                    [[x["concurrency"], "yes" if x["keep_alive"] else "no", ranged(x["ours"]["requests_per_s"]),
                      ranged(x["seed"]["requests_per_s"]),
                      f"{x['ratio_rps']} ({', '.join(map(str, x['ratio_per_round']))})",
                      f"{x['ours']['p50_ms']['median']:.0f}/{x['ours']['p99_ms']['median']:.0f}",
                      f"{x['seed']['p50_ms']['median']:.0f}/{x['seed']['p99_ms']['median']:.0f}",
                      x["ours"]["cpu_ms_per_request"]["median"], x["seed"]["cpu_ms_per_request"]["median"],
                      f"{x['ours']['in_kafka']}/{x['ours']['ok_2xx']} ({x['ours']['durable_pct']}%)",
                      f"{x['seed']['in_kafka']}/{x['seed']['ok_2xx']} ({x['seed']['durable_pct']}%)",
                      f"{'/'.join(map(str, x['ours']['load']))}; {'/'.join(map(str, x['seed']['load']))}"]
                     for x in runs]).splitlines()
        profiled = [x for x in runs if x["ours"].get("profile")]
        if profiled:
            md += profile(f"Our API at concurrency {profiled[-1]['concurrency']}, keep-alive",
                          profiled[-1]["ours"]["profile"])
        for keep_alive, times in ((True, 5), (False, 4)):
            x = next((x for x in runs if x["concurrency"] == 32 and x["keep_alive"] == keep_alive), None)
            targets.append((f"ingest at c=32 {'with' if keep_alive else 'without'} keep-alive ≥ {times}× the "
                            "seed's req/s, p99 ≤ 100 ms, every 2xx in Kafka",
                            f"{x['ratio_rps']}× ({ranged(x['ours']['requests_per_s'])} vs "
                            f"{ranged(x['seed']['requests_per_s'])} req/s), p99 {x['ours']['p99_ms']['median']:.0f} ms "
                            f"(max {x['ours']['p99_ms']['max']:.0f}), {x['ours']['durable_pct']}% in Kafka"
                            if x else "not run at 32",
                            None if x is None else (x["ratio_rps"] >= times and x["ours"]["p99_ms"]["max"] <= 100
                                                    and x["ours"]["durable_pct"] == 100), "ingest"))
    if "batch" in r:
        b = r["batch"]
        md += ["", "## Batch endpoint (`bench/batch.py`)", "", prose("batch", **b), ""]
        md += table(["events/s", "p50/p99 ms", "CPU ms/event", "events answered 2xx", "in Kafka", "load per run"],
                    [[ranged(b["events_per_s"]), f"{b['p50_ms']['median']:.0f}/{b['p99_ms']['median']:.0f}",
                      b["cpu_ms_per_event"]["median"], b["events_2xx"], b["in_kafka"],
                      "/".join(str(x["load"]) for x in b["runs"])]]).splitlines()
        md += profile("Our API under the batch load", b.get("profile"))
        targets.append(("batch endpoint ≥ 100,000 events/s acknowledged, every one in Kafka",
                        f"{ranged(b['events_per_s'])} events/s, {b['in_kafka']:,} of {b['events_2xx']:,} in Kafka",
                        b["events_per_s"]["median"] >= 100000 and b["in_kafka"] == b["events_2xx"], "batch"))
    for key, title, what, bound in (("metrics_cost", "Metrics cost", "metrics", 5), ("ids_cost", "Client ids cost", "ids", 10)):
        if key in r:
            section, target = ab_section(r[key], key, title, what, bound)
            md += section
            targets.append(target)
    if "producer" in r:
        md += ["", prose("producer", **r["producer"])]
    if "drain" in r:
        d = r["drain"]
        md += ["", "## Streaming drain (`bench/drain.py`)", "", prose("drain", **d), ""]
        jobs = [("ours", "ours (the API's form read in Java, the rules for other records, deduplicated by event id, "
                 "atomic file per batch)"),
                ("ours_nodedup", "ours with STREAM_DEDUP=off (no deduplication)"),
                ("ours_sql", "ours with STREAM_PARSER=sql (the form read by rlike and from_json, no jar)"),
                ("seed", "seed (Python UDF filter, from_json, file sink)"),
                ("floor", "floor (no filter, no parsing: each value written as it is)")]
        md += table(["job", "seconds", "events/s", "× seed", "rows landed", "load per run",
                     "last round's batches: rows, addBatch s"],
                    [[label, ranged(d[k]["seconds"]), ranged(d[k]["events_per_s"]),
                      round(d[k]["events_per_s"]["median"] / d["seed"]["events_per_s"]["median"], 2),
                      "/".join(map(str, d[k]["rows_landed"])), "/".join(map(str, d[k]["load"])),
                      "; ".join(f"{b['rows']:,}, {b['ms']['addBatch'] / 1000:.1f}" for b in d[k].get("batches", []))]
                     for k, label in jobs if k in d]).splitlines()
        md += ["", prose("drain profile"), ""]
        profiled = [(k, label) for k, label in jobs if (d.get(k) or {}).get("profile")]
        names = sorted({b for k, _ in profiled for b, _ in d[k]["profile"]["buckets"]},
                       key=lambda b: -max(dict(d[k]["profile"]["buckets"]).get(b, 0) for k, _ in profiled))
        md += table(["time spent in"] + [f"{k} ({d[k]['profile']['samples']} samples)" for k, _ in profiled],
                    [[b] + [dict(d[k]["profile"]["buckets"]).get(b, "") for k, _ in profiled]
                     for b in names]).splitlines()
        for k, label in profiled:
            md += ["", f"Hottest methods, {k} (own time, % of samples): " +
                   "; ".join(f"`{m}` {p}" for m, p in d[k]["profile"]["self"][:6]) + "."]
        targets.append(("drain: ours within 1.3× of the floor's time",
                        f"{d['ours_over_floor_time']}× ({d['ours']['seconds']['median']} s vs "
                        f"{d['floor']['seconds']['median']} s)", d["ours_over_floor_time"] <= 1.3, "drain-floor"))
        if "dedup_over_nodedup_time" in d:
            targets.append(("drain: the deduplication's cost (ours against STREAM_DEDUP=off, time)",
                            f"{d['dedup_over_nodedup_time']}× ({d['ours']['seconds']['median']} s vs "
                            f"{d['ours_nodedup']['seconds']['median']} s)", None, "drain-floor"))
        targets.append(("drain: ours ≥ 1.3× the seed's job's events/s", f"{d['ratio']}×", d["ratio"] >= 1.3,
                        "drain-floor"))
    if "freshness" in r:
        f = r["freshness"]
        md += ["", "## Freshness (`bench/freshness.py`)", "", prose("freshness", **{"warmup_s": 0, **f}), ""]
        md += table(["events", "visible", "p50 s", "p95 s", "max s", "queries", "query p50/p95/max s"],
                    [[f["replied_2xx"], f["visible"], f["p50_s"], f["p95_s"], f["max_s"], f["queries"],
                      f"{f['query_p50_s']}/{f['query_p95_s']}/{f['query_max_s']}"]]).splitlines()
        targets.append(("freshness p95 ≤ 12 s at 50 events/s", f"{f['p95_s']} s", f["p95_s"] <= 12, "freshness"))
    if "query" in r:
        q = r["query"]
        md += ["", "## Query latency and compaction (`bench/query.py`)", "", prose("query", **q), ""]
        for x in q["runs"]:
            rewrite = (f"; rewrite {x['rewrite_s']} s, {x['row_groups_before']} row groups → {x['row_groups_after']}"
                       if "rewrite_s" in x else "")
            md += [f"### {x['events']:,} events: {x['files_before']} files → {x['files_after']} "
                   f"(merge {x['compaction_s']} s{rewrite})", ""]
            md += table(["query", "before s", "merged s", "rewritten s"],
                        [[k, v, x.get("merged_s", {}).get(k, ""), x["after_s"][k]]
                         for k, v in x["before_s"].items()]).splitlines()
            md.append("")
        big = max(q["runs"], key=lambda x: x["events"])
        slowest = max(big["after_s"], key=big["after_s"].get)
        t = big["after_s"][slowest]
        targets.append(("every report query ≤ 2 s after compaction (10 M events)",
                        f"slowest: {slowest}, {t} s over {big['events']:,} events",
                        t <= 2 if big["events"] >= 10_000_000 else None, "presto"))
    md += ["", "## Targets (issue 13, and the metrics' cost)", ""]
    md += table(["target", "measured", "verdict"],
                [[a, b, verdict(None if scale == "smoke" else c)] for a, b, c, _ in targets]).splitlines()
    if scale == "smoke":
        md += ["", prose("smoke targets")]
    else:
        missed = list(dict.fromkeys(key for _, _, ok, key in targets if ok is False and key))
        if missed:
            md += ["", "## Missed targets: where the time goes, and the next step", ""]
            md += [f"- {title}: {prose('next step: ' + key)}" for key in missed
                   for title in [next(t for t, _, ok, k in targets if k == key and ok is False)]]
    return "\n".join(md) + "\n"


# BENCHMARKS.md ends with the cluster profile's section, from this line on: `make bench`
# rewrites what is above it, `make bench PROFILE=cluster` what follows.
CLUSTER_MARK = "<!-- cluster profile: written by `make bench PROFILE=cluster`; `make bench` keeps it -->"


def _load(folder: Path, name: str) -> dict | None:
    f = folder / f"{name}.json"
    return json.loads(f.read_text()) if f.exists() else None


def render_cluster(out: Path, single: Path, seconds: float, written: str | None = None) -> str:
    """The cluster profile's section: its ingest at concurrency 32 and its drain, beside
    the single-node profile's last figures on this machine (from `single`, when there)."""
    ing, drain = _load(out, "ingest"), _load(out, "drain")
    ing1, drain1 = _load(single, "ingest"), _load(single, "drain")
    md = [CLUSTER_MARK, "", "## Cluster profile (`make bench PROFILE=cluster`)", "",
          prose("cluster", written=written or time.strftime('%Y-%m-%d %H:%M'), seconds=seconds)]
    for name, r in (("ingest", ing), ("drain", drain)):
        if r:
            md.append(f"- {name}: measured {r['measured']['at']} on commit {r['measured']['commit']}")
    if ing:
        single_runs = {(x["concurrency"], x["keep_alive"]): x for x in (ing1 or {}).get("runs", [])}
        md += ["", "### " + prose("cluster ingest", **ing), ""]
        md += table(["concurrency", "keep-alive", "ours req/s", "ours single-node", "seed req/s", "× seed",
                     "ours p50/p99 ms", "ours 2xx in Kafka", "load (ours; seed)"],
                    [[x["concurrency"], "yes" if x["keep_alive"] else "no", ranged(x["ours"]["requests_per_s"]),
                      ranged(s["ours"]["requests_per_s"]) if (s := single_runs.get((x["concurrency"],
                                                                                    x["keep_alive"]))) else "",
                      ranged(x["seed"]["requests_per_s"]), x["ratio_rps"],
                      f"{x['ours']['p50_ms']['median']:.0f}/{x['ours']['p99_ms']['median']:.0f}",
                      f"{x['ours']['in_kafka']}/{x['ours']['ok_2xx']} ({x['ours']['durable_pct']}%)",
                      f"{'/'.join(map(str, x['ours']['load']))}; {'/'.join(map(str, x['seed']['load']))}"]
                     for x in ing["runs"]]).splitlines()
    if drain:
        md += ["", "### " + prose("cluster drain", **drain), ""]
        md += table(["job", "seconds", "single-node seconds", "events/s", "rows landed", "load per run",
                     "last round's batches: rows, addBatch s"],
                    [[k, ranged(drain[k]["seconds"]), ranged(drain1[k]["seconds"]) if drain1 and k in drain1 else "",
                      ranged(drain[k]["events_per_s"]), "/".join(map(str, drain[k]["rows_landed"])),
                      "/".join(map(str, drain[k]["load"])),
                      "; ".join(f"{b['rows']:,}, {b['ms']['addBatch'] / 1000:.1f}" for b in drain[k]["batches"])]
                     for k in ("ours", "seed", "floor") if k in drain]).splitlines()
    return "\n".join(md) + "\n"


def combine(current: str, single: str | None = None, cluster: str | None = None) -> str:
    """BENCHMARKS.md with one of its two parts replaced and the other kept from `current`."""
    above, mark, below = current.partition(CLUSTER_MARK)
    kept_cluster = (mark + below) if mark else ""
    return (single if single is not None else above.rstrip("\n") + "\n") + \
        ("\n" + cluster if cluster is not None else ("\n" + kept_cluster if kept_cluster else ""))
