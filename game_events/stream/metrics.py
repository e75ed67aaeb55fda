"""The streaming job's Prometheus metrics (names in metrics_names), served by its driver on
STREAM_METRICS_PORT, and the one place that counts a batch or a restart: TOTALS (for
`status`) and these counters move together.

A quarantined record's reason is free text (rules.reasons(): "unknown event_type: x"), so
the counter's `reason` label is its kind, one of REASON_KINDS, never the text."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, start_http_server

from game_events.stream import metrics_names as names
from game_events.stream.progress import TOTALS

log = logging.getLogger("game_events.stream")

# The kinds of rules.reasons()' texts, in order, each a regular expression of the start of
# its text that Python and Java read alike; a test holds every reason rules.py can give to
# a kind other than OTHER.
REASON_KINDS = (
    ("invalid_utf8", r"invalid UTF-8$"),
    ("not_json_object", r"not a JSON object$"),
    ("not_strict_json", r"not strict JSON "),
    ("missing_field", r"missing field "),
    ("unknown_event_type", r"unknown event_type: "),
    ("unknown_field", r"unknown field: "),
    ("unexpected_field", r"unexpected field "),
    ("invalid_field", r"invalid field "),
    ("wrong_json_type", r"field [^ ]+ must be a JSON "),
    ("too_long", r"field [^ ]+ too long$"),
    ("event_id_conflict", r"event_id reused with other content "),
)
OTHER = "other"  # a reason no kind matches: a rule added without a kind
KINDS = tuple(k for k, _ in REASON_KINDS) + (OTHER,)
# A batch takes seconds (a trigger every 10 s); a cold start or a 1 M backlog, minutes.
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)

disable_created_metrics()  # as the API's: no *_created series
REGISTRY = CollectorRegistry()
_batches = Counter(names.BATCHES, "Micro-batches landed", registry=REGISTRY)
_landed = Counter(names.ROWS_LANDED, "Valid events landed in hive_events", registry=REGISTRY)
_quarantined = Counter(names.ROWS_QUARANTINED, "Records landed in hive_bad_events, by the kind of rule they "
                       "broke (" + ", ".join(KINDS) + ")", ["reason"], registry=REGISTRY)
_duration = Histogram(names.BATCH_DURATION, "One micro-batch, from the start of its landing to its commit",
                      buckets=DURATION_BUCKETS, registry=REGISTRY)
_duplicates = Counter(names.DUPLICATES, "Records dropped as copies of an event id already landed within the "
                      "window (same id, same content)", registry=REGISTRY)
_restarts = Counter(names.RESTARTS, "Restarts of the streaming query from its checkpoint", registry=REGISTRY)
# Every kind exists from the start, at 0, so that increase() sees the first bad record.
_by_kind = {k: _quarantined.labels(k) for k in KINDS}


def reason_kind(reason: str) -> str:
    return next((k for k, pattern in REASON_KINDS if re.match(pattern, reason)), OTHER)


def reason_kind_column():
    """reason_kind() of the `reason` column, in Spark: a batch's bad records are counted by
    kind there, not collected."""
    from pyspark.sql import functions as F

    kind = F.lit(OTHER)
    for k, pattern in reversed(REASON_KINDS):
        kind = F.when(F.col("reason").rlike("^" + pattern), k).otherwise(kind)
    return kind.alias("kind")


def count_batch(landed: int, quarantined: Mapping[str, int], seconds: float, duplicates: int = 0) -> None:
    """One landed micro-batch: its events, its quarantined records by kind, its duplicates
    dropped, its duration."""
    TOTALS["batches"] += 1
    TOTALS["landed"] += landed
    TOTALS["quarantined"] += sum(quarantined.values())
    TOTALS["duplicates"] += duplicates
    _batches.inc()
    _landed.inc(landed)
    _duplicates.inc(duplicates)
    for kind, n in quarantined.items():
        _by_kind.get(kind, _by_kind[OTHER]).inc(n)
    _duration.observe(seconds)


def count_restart() -> None:
    TOTALS["restarts"] += 1
    _restarts.inc()


def serve(host: str, port: int) -> None:
    """Serves REGISTRY on host:port in a daemon thread; port 0 serves nothing. A port taken
    (another job on this host, such as a test's second job beside the stack's) leaves this
    job without its metrics, said in its log, rather than stop it, as Spark's UI moves on."""
    if not port:
        return
    try:
        start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as e:
        log.warning("the stream's metrics are off: %s:%d is taken (%s); STREAM_METRICS_PORT sets another port",
                    host, port, e)
