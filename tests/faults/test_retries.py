"""Clients that retry with their event's id (issue 26): through a broker outage, and when Kafka
is so slow that a client gives up waiting for a reply the API then sends, every event lands
exactly once, as it was sent, and the stream counts the copies it dropped."""
import os
import signal
import time

import pytest

from game_events import settings
from tests.support.commands import launcher
from tests.support.engines import caught_up, stream_progress
from tests.support.figures import record_figure
from tests.support.load import Load, audit
from tests.support.services import kill, pid_of
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(900, func_only=True)
OUTAGE_S = 20  # the broker down this long: the fault itself
STALL_S = 8  # Kafka stopped (SIGSTOP) this long, longer than the API's wait for its ack
CLIENT_TIMEOUT_S = 1.0  # shorter than KAFKA_ACK_TIMEOUT_S: the client gives up first


def test_retries_through_a_broker_outage_land_once(pipeline, tag):
    with Load(tag, threads=4, retry=True, pause=0.05) as load:
        load.wait_answered(50)
        kill("kafka")
        load.wait_answered(20, status=503, after=time.monotonic())  # the clients see the outage
        time.sleep(OUTAGE_S)  # the fault itself: no condition to wait for
        launcher("up", "kafka")
        load.wait_answered(50, after=time.monotonic(), timeout=120)
    figures = audit(tag, load.sent, f"retries through a broker outage ({OUTAGE_S} s)")
    assert figures["retries"] >= 20 and figures["503"] >= 1, figures
    assert figures["landed"] == figures["acknowledged"], figures


def test_replies_lost_in_flight_are_retried_and_land_once(pipeline, tag):
    assert CLIENT_TIMEOUT_S < settings.KAFKA_ACK_TIMEOUT_S < STALL_S
    wait_for(caught_up, 120, what="the stream to catch up")
    before = stream_progress()["duplicates"]
    kafka = pid_of("kafka")
    with Load(tag, threads=4, retry=True, pause=0.05, timeout=CLIENT_TIMEOUT_S) as load:
        load.wait_answered(50)
        t_stop = time.monotonic()
        os.killpg(kafka, signal.SIGSTOP)
        try:
            # Clients give up after 1 s and resend; the API keeps each request waiting for Kafka.
            wait_for(lambda: sum(1 for s in load.sent if s.status == 0 and s.t_sent > t_stop) >= 8, 30,
                     interval=0.1, what="clients giving up on replies")
            time.sleep(max(0.0, STALL_S - (time.monotonic() - t_stop)))  # the fault itself
        finally:
            os.killpg(kafka, signal.SIGCONT)
        load.wait_answered(50, after=time.monotonic(), timeout=120)
    figures = audit(tag, load.sent, f"replies lost in flight (Kafka stopped {STALL_S} s, clients' timeout "
                                    f"{CLIENT_TIMEOUT_S} s)")
    gave_up = sum(1 for s in load.sent if s.status == 0)
    wait_for(caught_up, 120, what="the stream to catch up")
    dropped = stream_progress()["duplicates"] - before
    record_figure("replies lost in flight: requests the clients gave up on; copies the stream dropped",
                  (gave_up, dropped))
    # Some of the abandoned requests reached Kafka after all: the stream dropped their copies.
    assert gave_up >= 8 and dropped >= 1, (gave_up, dropped, figures)
    assert figures["landed"] == figures["acknowledged"], figures
