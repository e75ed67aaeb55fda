"""The stream's Prometheus metrics without a stack: what a batch and a restart count
(metrics.py), the bounded kinds of quarantine reasons, the lag of given offsets (lag.py)
and what the lag exporter serves, read through prometheus_client's own exposition."""
from __future__ import annotations

import ast
import collections
import os
import subprocess
import sys
import urllib.request

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from game_events import settings
from game_events.stream import dedup, lag, metrics, metrics_names
from game_events.stream.lag_exporter import LagCollector, registry
from game_events.stream.progress import TOTALS
from tests.support.waits import wait_for
from tests.unit.test_prometheus import free_port

RULES = settings.ROOT / "game_events" / "stream" / "rules.py"


def value(name: str, **labels) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot() -> dict:
    return {"batches": value(metrics_names.BATCHES), "landed": value(metrics_names.ROWS_LANDED),
            "restarts": value(metrics_names.RESTARTS),
            "durations": value(metrics_names.BATCH_DURATION + "_count"),
            "duration_sum": value(metrics_names.BATCH_DURATION + "_sum"),
            **{k: value(metrics_names.ROWS_QUARANTINED, reason=k) for k in metrics.KINDS}, "totals": dict(TOTALS)}


def test_batches_and_restarts_move_the_counters_and_totals_together():
    batches = [(120, {}, 1.5), (7, {"missing_field": 2, "unknown_event_type": 1}, 4.0), (0, {"invalid_utf8": 3}, 0.25)]
    before = snapshot()
    for landed, by_kind, seconds in batches:
        metrics.count_batch(landed, by_kind, seconds)
    metrics.count_restart()
    after = snapshot()
    bad = collections.Counter()
    for _, by_kind, _ in batches:
        bad.update(by_kind)
    assert after["batches"] - before["batches"] == len(batches)
    assert after["landed"] - before["landed"] == sum(b[0] for b in batches)
    assert after["durations"] - before["durations"] == len(batches)
    assert after["duration_sum"] - before["duration_sum"] == pytest.approx(sum(b[2] for b in batches))
    assert {k: after[k] - before[k] for k in metrics.KINDS} == {k: bad[k] for k in metrics.KINDS}
    assert after["restarts"] - before["restarts"] == 1
    # `status`' counters are the same counts.
    t0, t1 = before["totals"], after["totals"]
    assert (t1["batches"] - t0["batches"], t1["landed"] - t0["landed"], t1["quarantined"] - t0["quarantined"],
            t1["restarts"] - t0["restarts"]) == (len(batches), 127, sum(bad.values()), 1)


def test_an_unknown_reason_kind_counts_as_other_and_the_label_stays_bounded():
    before = value(metrics_names.ROWS_QUARANTINED, reason=metrics.OTHER)
    metrics.count_batch(0, {"no such kind": 4}, 0.1)
    assert value(metrics_names.ROWS_QUARANTINED, reason=metrics.OTHER) - before == 4
    reasons = {s.labels["reason"] for f in metrics.REGISTRY.collect() for s in f.samples
               if s.name == metrics_names.ROWS_QUARANTINED}
    assert reasons == set(metrics.KINDS)


def reason_texts() -> list[str]:
    """Every reason rules.reasons() gives, read from its source, with "x" for what a record
    fills in (a field's name, an unknown event type)."""
    fn = next(n for n in ast.parse(RULES.read_text()).body if isinstance(n, ast.FunctionDef) and n.name == "reasons")

    def text(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
        if isinstance(node, ast.Call) and node.args:  # F.concat(F.lit("prefix: "), ...)
            first = node.args[0]
            return (text(first.args[0]) + "x") if isinstance(first, ast.Call) and first.args else None
        return None

    return [t for n in ast.walk(fn) if isinstance(n, ast.Tuple) and len(n.elts) == 2 and (t := text(n.elts[1]))]


def test_every_reason_of_the_rules_has_a_kind_and_every_kind_a_reason():
    # The rules' reasons, and the one the deduplication gives (its format filled in).
    texts = reason_texts() + [dedup.CONFLICT_REASON % (0, 7)]
    assert len(texts) >= 16, texts  # the walk found the rules
    kinds = {t: metrics.reason_kind(t) for t in texts}
    assert [t for t, k in kinds.items() if k == metrics.OTHER] == []
    assert set(kinds.values()) == set(metrics.KINDS) - {metrics.OTHER}
    assert metrics.reason_kind("unknown event_type: buy") == "unknown_event_type"
    assert metrics.reason_kind(dedup.CONFLICT_REASON % (3, 12)) == "event_id_conflict"
    assert metrics.reason_kind("field amount must be a JSON number") == "wrong_json_type"
    assert metrics.reason_kind("something new") == metrics.OTHER


def test_the_lag_of_given_offsets():
    got = lag.lag({0: 100, 1: 50, 2: 0}, {0: 40, 1: 50})
    assert got == {0: {"end": 100, "committed": 40, "lag": 60}, 1: {"end": 50, "committed": 50, "lag": 0},
                   2: {"end": 0, "committed": 0, "lag": 0}}
    # Before the stream's first commit the whole topic is its lag.
    assert {p: o["lag"] for p, o in lag.lag({0: 7}, {}).items()} == {0: 7}


def scrape(collector: LagCollector) -> dict[str, dict[tuple, float]]:
    text = generate_latest(registry(collector)).decode()
    return {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples}
            for f in text_string_to_metric_families(text)}


def test_the_lag_exporter_serves_the_lag_per_partition():
    ends, committed = {0: 10, 1: 30}, {0: 10, 1: 5}
    got = scrape(LagCollector(lambda: ends, lambda: committed))
    lag_name = metrics_names.KAFKA_LAG
    assert got[lag_name] == {(("partition", "0"),): 0.0, (("partition", "1"),): 25.0}
    # Only the counter's samples carry the _total suffix.
    assert set(got["game_stream_lag_read_errors"].values()) == {0.0}


@pytest.mark.parametrize("down", ["kafka", "hdfs"])
def test_the_lag_exporter_serves_no_lag_and_counts_an_error_when_a_side_is_unreachable(down):
    def unreachable():
        raise OSError(f"{down} is down")

    reads = {"kafka": lambda: {0: 10}, "hdfs": lambda: {0: 4}, down: unreachable}
    collector = LagCollector(reads["kafka"], reads["hdfs"])
    for n in (1, 2):
        got = scrape(collector)
        assert got.get(metrics_names.KAFKA_LAG, {}) == {}
        errors = got["game_stream_lag_read_errors"]
        assert errors == {(("source", "kafka"),): float(n if down == "kafka" else 0),
                          (("source", "hdfs"),): float(n if down == "hdfs" else 0)}


def test_the_served_names_are_metrics_names():
    stream = {m.name for m in metrics.REGISTRY.collect()}
    lag_exporter = {m.name for m in registry(LagCollector(lambda: {}, lambda: {})).collect()}
    # prometheus_client names a counter's family without its _total.
    served = {n + "_total" if n + "_total" in metrics_names.NAMES else n for n in stream | lag_exporter}
    assert served == set(metrics_names.NAMES)
    assert stream & lag_exporter == set()


@pytest.mark.timeout(180)
def test_spark_counts_a_landed_bad_file_by_the_same_kinds(spark, tmp_path):
    # The stream counts a batch's bad records by kind in Spark (Java's regular expressions);
    # Python's reason_kind() must read every text alike.
    texts = reason_texts() + ["something new", "unknown event_type: field x too long"]
    path = str(tmp_path / "bad.parquet")
    spark.createDataFrame([(t,) for t in texts], "reason string").write.parquet(path)
    from game_events.stream.landing import quarantined_by_kind

    assert quarantined_by_kind(spark, path) == collections.Counter(map(metrics.reason_kind, texts))


def metrics_text(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read().decode()
    except OSError:
        return None


@pytest.mark.timeout(90)
def test_the_lag_exporter_process_stays_up_and_counts_errors_while_kafka_and_hdfs_are_unreachable(tmp_path):
    # Ports where nothing listens stand for Kafka and HDFS down: the service as the launcher runs it.
    port = free_port()
    env = {**os.environ, "STACK_DATA": str(tmp_path), "LAG_EXPORTER_PORT": str(port),
           "KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "WEBHDFS": f"http://127.0.0.1:{free_port()}"}
    with (tmp_path / "lag-exporter.out").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "game_events.stream.lag_exporter"], cwd=settings.ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        first, _ = wait_for(lambda: metrics_text(url), 30, what="the lag exporter to answer")
        second = metrics_text(url)
        assert proc.poll() is None
        for text, n in ((first, 1), (second, 2)):
            families = {f.name: f for f in text_string_to_metric_families(text)}
            assert families[metrics_names.KAFKA_LAG].samples == []
            errors = {s.labels["source"]: s.value for s in families["game_stream_lag_read_errors"].samples
                      if s.name.endswith("_total")}
            assert errors == {"kafka": n, "hdfs": n}
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_driver_serves_its_metrics_and_a_taken_port_only_turns_them_off(caplog):
    port = free_port()
    metrics.serve("127.0.0.1", port)
    text, _ = wait_for(lambda: metrics_text(f"http://127.0.0.1:{port}/metrics"), 10, what="the stream's metrics")
    assert {f.name for f in text_string_to_metric_families(text)} == {m.name for m in metrics.REGISTRY.collect()}
    metrics.serve("127.0.0.1", port)  # a second job on this host: it runs on, without metrics
    assert f"127.0.0.1:{port} is taken" in caplog.text
