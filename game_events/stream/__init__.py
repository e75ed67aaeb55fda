"""The streaming job, Kafka -> hive_events and hive_bad_events, derived from the catalogue.

    rules.py     parse(): Kafka records -> rows with a `reason` (null for a valid event);
                 parse_api_form(): the same for records in the API's own form, without the rules
    parsers.py   the API's form read by ApiForm (java, the default) or by built-in functions (sql)
    java/        ApiForm.java: that form read in one pass, as a Catalyst expression;
                 KeyLog.java: the deduplication's gathering filter and its table of ids
    dedup.py     the deduplication by event id: each batch's ids gathered in its landing pass,
                 decided on the driver (land, dup, conflict), kept in a file per batch
    landing.py   land_batch(): one micro-batch as one parquet file per table, atomically
    progress.py  the job's counters and the files that tell the launcher about it
    metrics.py   the job's Prometheus metrics (names: metrics_names.py), counted with progress' TOTALS
    lag.py       the stream's lag behind the topic, from its checkpoint; lag_exporter.py serves it
    job.py       the streaming query, its restarts and its guard against a lost checkpoint
"""
from game_events.stream.job import read_events, refuse_orphaned_output, run_with_restarts, start_query
from game_events.stream.landing import land_batch
from game_events.stream.progress import TOTALS
from game_events.stream.rules import json_schema, parse, reasons

__all__ = ["read_events", "refuse_orphaned_output", "run_with_restarts", "start_query", "land_batch", "TOTALS",
           "json_schema", "parse", "reasons"]
