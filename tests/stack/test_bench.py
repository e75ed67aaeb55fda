"""The benchmarks at smoke sizes (`make bench-smoke`): no timing is asserted, only that
every script ran and measured what it says, with counts that add up."""
import json

import pytest

from game_events import catalogue, settings
from tests.support.commands import PYTHON, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2000, func_only=True)]


def test_bench_smoke_produces_sane_figures(pipeline):
    out = settings.DATA / "bench-smoke"
    for old in out.glob("*"):
        old.unlink()
    run(PYTHON, "-m", "bench.run", "--smoke", timeout=1800)
    r = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(r) == {"ingest", "batch", "metrics_cost", "ids_cost", "producer", "drain", "freshness", "query"}
    assert r["producer"]["in_kafka"] == r["producer"]["events"] and r["producer"]["events_per_s"] > 0

    ingest = r["ingest"]
    # Every concurrency, with keep-alive and without.
    assert sorted((x["concurrency"], x["keep_alive"]) for x in ingest["runs"]) == [
        (1, False), (1, True), (32, False), (32, True)]
    for x in ingest["runs"]:
        ours, seed = x["ours"], x["seed"]
        assert x["requests"] == (ingest["requests"] if x["concurrency"] >= 8 else max(100, ingest["requests"] // 10))
        assert ours["ok_2xx"] == x["requests"] * ingest["rounds"] and ours["in_kafka"] == ours["ok_2xx"]
        assert ours["durable_pct"] == 100 and 0 <= seed["in_kafka"] <= seed["ok_2xx"]
        assert len(ours["load"]) == len(seed["load"]) == len(x["ratio_per_round"]) == ingest["rounds"]
        for side in (ours, seed):
            rps = side["requests_per_s"]
            assert 0 < rps["min"] <= rps["median"] <= rps["max"] and len(rps["runs"]) == ingest["rounds"]
        assert ours["cpu_ms_per_request"]["median"] > 0
        assert 0 < ours["p50_ms"]["median"] <= ours["p99_ms"]["median"]
    b = r["batch"]
    assert b["events_2xx"] == b["rounds"] * b["requests"] * b["events_per_request"] == b["in_kafka"]
    assert len(b["runs"]) == b["rounds"] == 2 and b["events_per_s"]["min"] > 0
    assert (r["metrics_cost"]["compare"], r["ids_cost"]["compare"]) == ("metrics", "ids")
    for m in (r["metrics_cost"], r["ids_cost"]):
        assert_sane_ab(m)
    d = r["drain"]
    assert d["ours"]["rows_landed"] == d["seed"]["rows_landed"] == [d["relevant"]] * d["rounds"] and d["relevant"] > 0
    assert d["floor"]["rows_landed"] == [d["events"]] * d["rounds"]  # every record, as it is
    for job in ("ours", "seed", "floor"):
        assert d[job]["events_per_s"]["min"] > 0
        assert all(sum(b["rows"] for b in batches) == d["events"] for batches in d[job]["batches_per_round"])
        prof = d[job]["profile"]  # Java Flight Recorder's samples of the job's JVM
        # Each share is rounded to 0.1, so their sum may pass 100 by 0.05 per bucket.
        shares = [p for _, p in prof["buckets"]]
        assert prof["samples"] > 0 and 0 < sum(shares) <= 100 + 0.05 * len(shares) + 1e-9
    f = r["freshness"]
    assert f["visible"] == f["replied_2xx"] > 0 and 0 < f["p50_s"] <= f["p95_s"] <= f["max_s"] < 120
    assert f["queries"] > 0 and 0 < f["query_p50_s"] <= f["query_p95_s"] <= f["query_max_s"]
    for q in r["query"]["runs"]:
        assert q["rows_in_presto"] == q["events"] and q["files_after"] < q["files_before"]
        assert set(q["before_s"]) == set(q["merged_s"]) == set(q["after_s"])
        assert all(v > 0 for v in q["after_s"].values())
        # The smoke table's merged file holds one row group per small file; the rewrite, one per event type.
        assert q["row_groups_before"] == q["files_before"] and 2 <= q["row_groups_after"] <= len(catalogue.EVENTS), q
    md = (out / "BENCHMARKS.md").read_text()
    for heading in ("## Machine", "## Ingest", "## Batch endpoint", "## Metrics cost", "## Client ids cost",
                    "## Streaming drain", "## Freshness", "## Query latency", "## Targets"):
        assert heading in md
    assert "cores: " in md and "SPARK_VERSION 4.2.0" in md


def assert_sane_ab(m: dict) -> None:
    """An A/B run of bench/metrics_cost.py (metrics on/off, or ids sent/not)."""
    # Each smoke concurrency's GET, then the batch; both sides started with the stack API's workers.
    assert [(x["route"], x["concurrency"]) for x in m["runs"]] == [("GET /purchase_a_sword", 4), ("POST /events", 2)]
    assert m["workers"] == {"on": settings.API_WORKERS, "off": settings.API_WORKERS}
    for x in m["runs"]:
        for side in (x["on"], x["off"]):
            # Every request answered 2xx, and each side's every event in Kafka.
            assert side["ok_2xx"] == x["requests"] * m["rounds"] and side["failed"] == 0
            assert side["events_2xx"] == side["ok_2xx"] * x["events_per_request"] == side["in_kafka"]
            assert side["durable_pct"] == 100 and len(side["load"]) == m["rounds"]
            rps = side["requests_per_s"]
            assert 0 < rps["min"] <= rps["median"] <= rps["max"] and len(rps["runs"]) == m["rounds"]
            assert 0 < side["p50_ms"]["median"] <= side["p99_ms"]["median"]
            # The CPU clock ticks every 10 ms: the few smoke batches may fall between two ticks.
            assert side["cpu_ms_per_request"]["median"] > 0 if x["route"].startswith("GET") else \
                side["cpu_ms_per_request"]["median"] >= 0
        # With ids, every event of the "on" side carries one the client sent; no other event does.
        ids = m["compare"] == "ids"
        assert (x["on"]["with_client_ids"], x["off"]["with_client_ids"]) == (x["on"]["in_kafka"] if ids else 0, 0)
        assert len(x["ratio_per_round"]) == len(x["cpu_ratio_per_round"]) == x["rounds"] == m["rounds"]
        assert all(v > 0 for v in x["ratio_per_round"]) and x["ratio_rps"] > 0
        assert x["overhead_pct"] == round(100 * (1 - x["ratio_rps"]), 1)
