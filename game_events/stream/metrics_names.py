"""The streaming job's Prometheus metrics, named once. The stack's alert rules and dashboard
(stack/templates/prometheus) already query them; the job exports them in part 3 of issue
27, on the stream's row of the service table (stack/services.py), and a test holds the
rules and the dashboard to these names (tests/unit/test_prometheus.py).

    game_stream_batches_total                     counter: micro-batches landed
    game_stream_rows_landed_total                 counter: valid events landed in hive_events
    game_stream_rows_quarantined_total            counter: records landed in hive_bad_events
    game_stream_batch_duration_seconds            histogram: one micro-batch, start to commit
    game_stream_kafka_lag_records{partition}      gauge: the topic's end offset less the
                                                  stream's committed one, per partition
    game_stream_restarts_total                    counter: restarts of the query from its checkpoint
"""
PREFIX = "game_stream_"
BATCHES = PREFIX + "batches_total"
ROWS_LANDED = PREFIX + "rows_landed_total"
ROWS_QUARANTINED = PREFIX + "rows_quarantined_total"
BATCH_DURATION = PREFIX + "batch_duration_seconds"
KAFKA_LAG = PREFIX + "kafka_lag_records"
RESTARTS = PREFIX + "restarts_total"
NAMES = (BATCHES, ROWS_LANDED, ROWS_QUARANTINED, BATCH_DURATION, KAFKA_LAG, RESTARTS)
