"""The streaming job's Prometheus metrics, named once. The stack's alert rules and dashboard
(stack/templates/prometheus) already query them; the job exports them in part 3 of issue
27, on the stream's row of the service table (stack/services.py), and a test holds the
rules and the dashboard to these names (tests/unit/test_prometheus.py).

    game_stream_batches_total                     counter: micro-batches landed
    game_stream_rows_landed_total                 counter: valid events landed in hive_events
    game_stream_rows_quarantined_total            counter: records landed in hive_bad_events
    game_stream_duplicates_dropped_total          counter: records dropped as copies of an event id
    game_stream_batch_duration_seconds            histogram: one micro-batch, start to commit
    game_stream_kafka_lag_records{partition}      gauge: the topic's end offset less the
                                                  stream's committed one, per partition
    game_stream_restarts_total                    counter: restarts of the query from its checkpoint
    game_stream_lag_read_errors_total{source}     counter: the lag exporter's failed reads (kafka, hdfs)

The lag comes from a process of its own (the lag-exporter service), so it is served, and
rises, while the stream is down; the rest from the stream's driver (metrics.py).
"""
PREFIX = "game_stream_"
BATCHES = PREFIX + "batches_total"
ROWS_LANDED = PREFIX + "rows_landed_total"
ROWS_QUARANTINED = PREFIX + "rows_quarantined_total"
DUPLICATES = PREFIX + "duplicates_dropped_total"
BATCH_DURATION = PREFIX + "batch_duration_seconds"
KAFKA_LAG = PREFIX + "kafka_lag_records"
RESTARTS = PREFIX + "restarts_total"
# The lag exporter's own (game_events/stream/lag_exporter.py): a scrape that could not read
# one side of the lag counts here, by source (kafka or hdfs), and serves no lag sample.
LAG_ERRORS = PREFIX + "lag_read_errors_total"
NAMES = (BATCHES, ROWS_LANDED, ROWS_QUARANTINED, DUPLICATES, BATCH_DURATION, KAFKA_LAG, RESTARTS, LAG_ERRORS)
