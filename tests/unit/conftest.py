"""Fixtures of the unit layer: nothing here reaches a service."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every unit test (no Hive, no Kafka, no UI)."""
    from pyspark.sql import SparkSession

    from game_events.stream import parsers

    session = (SparkSession.builder.master("local[1]").appName("unit-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "1")
               # The rules are one large expression: compiled expression by expression, not
               # fused into one whole-stage function, a few rows take a third less time
               # through the same expression code.
               .config("spark.sql.codegen.wholeStage", "false").getOrCreate())
    # The java parser's jar, loaded the stream's way; `make install` built it.
    assert parsers.choose(session, parsers.JAVA) == parsers.JAVA
    yield session
    session.stop()


@pytest.fixture(params=["java", "sql"])
def parser(request):
    return request.param


@pytest.fixture(params=["whole-stage codegen", "no whole-stage codegen"])
def codegen(spark, request):
    """Both ways Spark runs a projection: fused into one generated function per stage, or
    expression by expression."""
    spark.conf.set("spark.sql.codegen.wholeStage", str(request.param == "whole-stage codegen").lower())
    yield request.param
    spark.conf.set("spark.sql.codegen.wholeStage", "false")


@pytest.fixture(scope="module")
def client():
    """The API through Flask's test client. Its Kafka producer is real and points at a
    closed port, so a request that passes validation gets the real 503."""
    from game_events.api import create_app
    from game_events.api.event_log import EventLog

    return create_app(EventLog("127.0.0.1:1", ack_timeout_s=0.5)).test_client()


class StoringLog:
    """Kafka as a list: every value the API hands over is stored (the first `take` of each
    request, when set), so a test sees the 2xx replies and exactly what was written."""

    def __init__(self):
        from game_events.api.event_log import EventLog

        self.log = EventLog("127.0.0.1:1", ack_timeout_s=0.5)
        self.log.deliver = self.deliver
        self.values: list[bytes] = []
        self.take: int | None = None

    def deliver(self, topic: str, values: list[bytes]) -> list[int]:
        stored = values[:self.take]
        self.values += stored
        return list(range(len(stored)))


@pytest.fixture
def kafka():
    return StoringLog()


@pytest.fixture
def storing_client(kafka):
    """The API through Flask's test client, with a Kafka that stores everything (kafka)."""
    from game_events.api import create_app

    return create_app(kafka.log).test_client()
