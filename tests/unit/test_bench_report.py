"""BENCHMARKS.md's prose comes from bench/findings.md: every section of it is used, and a
report of every benchmark, each missing its target, renders whole."""
from __future__ import annotations

import json
import re
from pathlib import Path

from bench import report


def spread(median: float) -> dict:
    return {"median": median, "min": median * 0.9, "max": median * 1.1}


def server(rps: float) -> dict:
    return {"requests_per_s": spread(rps), "p50_ms": spread(4), "p99_ms": spread(150), "cpu_ms_per_request": spread(0.5),
            "in_kafka": 100, "ok_2xx": 100, "durable_pct": 100, "load": [1.5, 1.7]}


def profile() -> dict:
    return {"samples": 900, "self": [["send", 12.5]], "total": [["handle", 40.0]],
            "buckets": [["parquet", 30.0]]}


def job(seconds: float) -> dict:
    return {"seconds": spread(seconds), "events_per_s": spread(1e6 / seconds), "rows_landed": [10, 10],
            "load": [1.9], "batches": [{"rows": 500000, "ms": {"addBatch": 8500}}], "profile": profile()}


def ab(compare: str, on_rps: float, ratio: float, overhead_pct: float) -> dict:
    """An A/B run of bench/metrics_cost.py whose "on" side answers on_rps against 3,000 req/s."""
    return {"requests": 10000, "rounds": 3, "compare": compare, "workers": {"on": 4, "off": 4}, "threads": 16,
            "access_log": True,
            "runs": [{"route": route, "concurrency": c, "keep_alive": True, "requests": n,
                      "events_per_request": size, "rounds": 3,
                      "on": {**server(on_rps), "events_2xx": 100}, "off": {**server(3000), "events_2xx": 100},
                      "ratio_per_round": [0.92, 0.93, 0.95], "cpu_ratio_per_round": [1.1, 1.1, 1.05],
                      "ratio_rps": ratio, "overhead_pct": overhead_pct, "cpu_overhead_pct": 10.0}
                     for route, c, n, size in (("GET /purchase_a_sword", 8, 10000, 1),
                                               ("GET /purchase_a_sword", 32, 10000, 1),
                                               ("POST /events", 4, 200, 100))]}


def results(folder: Path) -> Path:
    """One result of each benchmark, each missing its target."""
    runs = [{"concurrency": 32, "keep_alive": keep_alive, "ours": {**server(3000), "profile": profile()},
             "seed": server(1000), "ratio_rps": 3.0, "ratio_per_round": [2.9, 3.1]} for keep_alive in (True, False)]
    found = {
        "ingest": {"requests": 20000, "rounds": 3, "runs": runs},
        "batch": {"requests": 200, "events_per_request": 500, "concurrency": 4, "rounds": 3,
                  "events_per_s": spread(80000), "p50_ms": spread(30), "p99_ms": spread(90),
                  "cpu_ms_per_event": spread(0.01), "events_2xx": 100000, "in_kafka": 100000,
                  "runs": [{"load": 1.8}], "profile": profile()},
        "metrics_cost": ab("metrics", 2800, 0.933, 6.7),
        "ids_cost": ab("ids", 2640, 0.88, 12.0),
        "producer": {"events": 100000, "events_per_s": 60000.0, "cpu_ms_per_event": 0.02, "in_kafka": 100000},
        "drain": {"events": 2000000, "relevant": 1800000, "rounds": 5, "max_offsets_per_trigger": 1000000,
                  "min_partitions": 2, "ours": job(24), "ours_sql": job(30), "seed": job(28), "floor": job(18),
                  "ours_over_floor_time": 1.33, "ratio": 1.17, "sql_ratio": 0.93, "sql_over_java_time": 1.25},
        "freshness": {"rate": 50, "seconds": 60, "warmup_s": 30, "poll_interval_s": 0.5, "trigger": "10 seconds",
                      "replied_2xx": 3000, "visible": 3000, "p50_s": 6.0, "p95_s": 12.5, "max_s": 14.0,
                      "queries": 120, "query_p50_s": 0.3, "query_p95_s": 0.5, "query_max_s": 0.6},
        "query": {"events_per_file": 500, "repeat": 3,
                  "runs": [{"events": 10_000_000, "files_before": 20000, "files_after": 10, "compaction_s": 40,
                            "rewrite_s": 90, "row_groups_before": 20000, "row_groups_after": 80,
                            "before_s": {"Q": 9.0}, "merged_s": {"Q": 4.0}, "after_s": {"Q": 2.5}}]},
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, result in found.items():
        result["measured"] = {"at": "2026-11-28 10:00", "commit": "abc1234"}
        (folder / f"{name}.json").write_text(json.dumps(result))
    return folder


def rendered(tmp_path: Path) -> list[str]:
    out = results(tmp_path / "single")
    return [report.render(out, "full", 42, None, "2026-11-28 11:00"),
            report.render(out, "smoke", 42, ["ingest"], "2026-11-28 11:00"),
            report.render_cluster(results(tmp_path / "cluster"), out, 42, "2026-11-28 11:00")]


def test_every_section_of_the_findings_is_used_and_filled(tmp_path, monkeypatch):
    used = []
    prose = report.prose

    def recording(key: str, **values) -> str:
        used.append(key)
        return prose(key, **values)

    monkeypatch.setattr(report, "prose", recording)
    md = "\n".join(rendered(tmp_path))
    assert sorted(set(used)) == sorted(report.PROSE)
    assert re.findall(r"\{\w*[^}]*\}", md) == []  # no placeholder left unfilled
    assert "- freshness p95 ≤ 12 s at 50 events/s: A row waits for the next trigger" in md
    assert "- ingest with metrics on within 5% of metrics off (req/s, medians): With metrics on, each" in md
    assert "| POST /events (100 events) | 4 | 2,800 (2,520–3,080) | 3,000 (2,700–3,300) | 0.933 (0.92, 0.93, 0.95) |" in md
    assert "- ingest with client ids within 10% of ingest without (req/s, medians): A request with an id" in md
