"""The benchmark runner's command line and the report's record of when and on which
commit each result was measured."""
import json
import os
import subprocess
import sys

from game_events import settings


def test_an_unknown_benchmark_is_one_plain_error():
    res = subprocess.run([sys.executable, "-m", "bench.run", "--only", "ingest,warp"], cwd=settings.ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "unknown benchmark: warp (choose from ingest, batch, metrics_cost, ids_cost, producer, drain, freshness, query)" in res.stderr


def test_the_report_says_when_and_on_which_commit_each_result_was_measured(tmp_path):
    from bench import report

    fresh = {"seconds": 12, "rate": 2, "replied_2xx": 3, "visible": 3, "p50_s": 1.0, "p95_s": 2.0, "max_s": 3.0,
             "poll_interval_s": 0.5, "trigger": "10 seconds", "queries": 4, "query_p50_s": 0.3, "query_p95_s": 0.5,
             "query_max_s": 0.6, "measured": {"at": "2026-11-28 10:00", "commit": "abc1234"}}
    producer = {"events": 10, "events_per_s": 5.0, "cpu_ms_per_event": 0.1, "in_kafka": 10}
    (tmp_path / "freshness.json").write_text(json.dumps(fresh))
    (tmp_path / "producer.json").write_text(json.dumps(producer))  # an older result, without the record
    os.utime(tmp_path / "producer.json", (1764331200, 1764331200))  # noon UTC
    md = report.render(tmp_path, "full", 42, ["freshness"])
    assert "`python -m bench.run --only freshness`" in md
    assert "This run measured freshness; the other figures are the last results of earlier runs." in md
    assert "| freshness | 2026-11-28 10:00 | abc1234 |" in md
    assert "| producer | 2025-11-28 " in md and "| not recorded |" in md
    assert "| freshness p95 ≤ 12 s at 50 events/s | 2.0 s | met |" in md
    assert "| 3 | 3 | 1.0 | 2.0 | 3.0 | 4 | 0.3/0.5/0.6 |" in md


def test_each_profile_rewrites_only_its_own_part_of_the_report():
    from bench import report

    mark = report.CLUSTER_MARK
    with_cluster = report.combine("# Benchmarks\n\nsingle\n", cluster=f"{mark}\n\ncluster\n")
    assert with_cluster == f"# Benchmarks\n\nsingle\n\n{mark}\n\ncluster\n"
    # `make bench` keeps the cluster's part, and `make bench PROFILE=cluster` the single node's.
    assert report.combine(with_cluster, single="# Benchmarks\n\nnew\n") == f"# Benchmarks\n\nnew\n\n{mark}\n\ncluster\n"
    assert report.combine(with_cluster, cluster=f"{mark}\n\nnew\n") == f"# Benchmarks\n\nsingle\n\n{mark}\n\nnew\n"
