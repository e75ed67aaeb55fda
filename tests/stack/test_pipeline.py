"""The seed's pipeline end to end: game_api.py -> Kafka -> write_event_stream.py ->
HDFS -> hive_events -> Presto, on the real engines."""
import os
import re
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from game_events import settings
from tests.support.commands import BIN, ROOT, run
from tests.support.data import expected_event, seed_describe_table, sent_by_generate_events
from tests.support.engines import hdfs_names, presto_rows, topic_end, topic_values
from tests.support.figures import record_figure
from tests.support.services import pid_of
from tests.support.waits import wait_for

API = settings.API_URL
LANDING_TIMEOUT = 90  # two or three 10 s triggers, with room for a slow first batch
pytestmark = pytest.mark.timeout(2 * LANDING_TIMEOUT + 120, func_only=True)


def test_describe_hive_events_is_the_seeds_table(pipeline):
    assert [(c, t) for c, t, *_ in presto_rows("describe hive_events")] == seed_describe_table()


def test_generate_events_lands_exactly_what_was_sent(pipeline, tag):
    res = run("bash", ROOT / "generate_events.sh", env={"TAG": tag, "PATH": "/usr/bin:/bin", "API_URL": API})
    sent = list(sent_by_generate_events(res.stdout))
    assert len(sent) >= 10 and all(n > 0 for *_, n in sent), res.stdout
    expected = Counter()
    for event_type, _, _, n in sent:
        if event_type != "default":
            expected[event_type] += n

    def counts():
        rows = presto_rows(f"select event_type, count(*) from hive_events where user like '%-{tag}' group by 1")
        got = dict(rows)
        return got if got == dict(expected) else None

    _, waited = wait_for(counts, LANDING_TIMEOUT, what=f"counts {dict(expected)}")
    record_figure("reply-to-visible-in-presto seconds (generate_events.sh, last reply)", round(waited, 1))

    fields = ("event_type", "user", "type", "price", "fee", "name", "amount")
    rows = presto_rows(f"select {', '.join(fields)}, host, user_agent, accept from hive_events "
                       f"where user like '%-{tag}'")
    coins = lambda v: None if v is None else int(v)  # noqa: E731
    landed = Counter((e, u, t, coins(p), coins(f), n, coins(a), h) for e, u, t, p, f, n, a, h, *_ in rows)
    # Prices, fees and amounts as the seed sets them, written by hand (tests/support/data.py).
    want = Counter()
    for event_type, params, host, n in sent:
        if event_type != "default":
            event = expected_event(event_type, params)
            want[(*(event[f] for f in fields), host)] += n
    assert landed == want
    assert {(r[8], r[9]) for r in rows} == {("ApacheBench/2.3", "*/*")}


def test_health_counts_the_requests_of_every_worker(pipeline, tag):
    """The API runs two worker processes per core; /health adds up what all of them did."""
    master = pid_of("api")
    workers = open(f"/proc/{master}/task/{master}/children").read().split()
    assert len(workers) == 2 * (os.cpu_count() or 1) >= 2
    before = requests.get(f"{API}/health", timeout=10).json()["counters"]
    urls = [f"{API}/get_paid?user=w{i}-{tag}&amount={i}" for i in range(300)] + \
           [f"{API}/get_paid?user=w{i}-{tag}&amount=x" for i in range(50)]
    with ThreadPoolExecutor(16) as pool:
        codes = Counter(pool.map(lambda u: requests.get(u, timeout=30).status_code, urls))
    assert codes == {200: 300, 400: 50}
    after = requests.get(f"{API}/health", timeout=10).json()["counters"]
    assert (after["accepted"] - before["accepted"], after["rejected"] - before["rejected"]) == (300, 50)


def test_forged_headers_store_the_true_values(pipeline, tag):
    user = f"honest-{tag}"
    r = requests.get(f"{API}/purchase_a_sword", params={"user": user, "type": "bronze"},
                     headers={"price": "0", "event_type": "get_paid", "user": "mallory", "fee": "9", "amount": "7"},
                     timeout=10)
    assert r.status_code == 200 and r.text == "Sword Purchased!\n"
    rows, _ = wait_for(lambda: presto_rows(f"select event_type, user, price, fee, amount from hive_events "
                                           f"where user = '{user}'"), LANDING_TIMEOUT, what="forged event")
    assert [(e, u, int(p), f, a) for e, u, p, f, a in rows] == [("purchase_sword", user, 5, None, None)]


def test_bad_requests_are_400_and_never_reach_kafka(pipeline, tag):
    start = topic_end()
    bad = [
        ("/purchase_a_sword", {"type": "gold"}),
        ("/purchase_a_sword", {"user": "", "type": "gold"}),
        ("/purchase_a_sword", {"user": f"a-{tag}", "type": "plastic"}),
        ("/get_paid", {"user": f"a-{tag}", "amount": "-3"}),
        ("/get_paid", {"user": f"a-{tag}", "amount": "2.5"}),
        ("/get_paid", {"user": f"a-{tag}", "amount": str(10**10)}),
        ("/join_a_guild", {"user": f"a-{tag}", "name": "g" * 500}),
        ("/quit_guild", {"user": "u" * 500 + tag, "name": "g"}),
    ]
    for path, params in bad:
        r = requests.get(API + path, params=params, timeout=10)
        assert r.status_code == 400, (path, params, r.text)
        assert r.json()["field"] in params or r.json()["field"] == "user"
    r = requests.get(f"{API}/get_paid?user=%ff{tag}&amount=1", timeout=10)
    assert r.status_code == 400 and r.json()["field"] == "user"
    r = requests.get(f"{API}/get_paid", params={"user": f"a-{tag}", "amount": "1"}, data="x" * 100_000, timeout=10)
    assert r.status_code == 413
    assert requests.get(f"{API}/no_such_route", timeout=10).status_code == 404
    # Over 16 KiB of headers, or of request line: the HTTP server refuses it before Flask.
    r = requests.get(f"{API}/get_paid", params={"user": f"a-{tag}", "amount": "1"},
                     headers={"X-Padding": "x" * 20_000}, timeout=10)
    assert r.status_code == 431
    r = requests.get(f"{API}/get_paid", params={"user": f"a-{tag}", "amount": "1", "pad": "x" * 20_000}, timeout=10)
    assert r.status_code == 431
    # A good sentinel after them: the topic must hold it and nothing else of this test.
    assert requests.get(f"{API}/get_paid", params={"user": f"sentinel-{tag}", "amount": "1"}, timeout=10).ok
    mine = [v for v in topic_values(start) if v is not None and tag.encode() in v]
    assert len(mine) == 1 and b"sentinel-" in mine[0]


# Records no client of the API could send, each with the reason the stream must give it.
GARBAGE = [
    (b"not json at all", "not a JSON object"),
    (b'{"event_type": "purchase_sword", "user": "x', "not a JSON object"),
    (b'{"event_type": "summon_dragon", "user": "TAG"}', "unknown event_type: summon_dragon"),
    (b'{"event_type": "get_paid", "user": "TAG", "amount": "lots"}', "invalid field amount"),
    (b'{"event_type": "get_paid", "amount": 3, "user": null}', "missing field user"),
    (b'{"event_type": "purchase_sword", "user": "TAG", "type": "gold", "price": 0}', "invalid field price"),
    (b'["TAG"]', "not a JSON object"),
]


def test_garbage_on_the_topic_is_quarantined_and_the_stream_goes_on(pipeline, tag):
    start = topic_end()
    payload = b"\n".join(g.replace(b"TAG", tag.encode()) for g, _ in GARBAGE) + b"\n"
    run(BIN / "kafkacat", "-P", "-t", settings.TOPIC, input=payload.decode(), timeout=30)
    good_user = f"after-garbage-{tag}"
    assert requests.get(f"{API}/get_paid", params={"user": good_user, "amount": "9"}, timeout=10).ok
    offsets = range(start, start + len(GARBAGE))
    rows, _ = wait_for(lambda: (lambda r: r if len(r) == len(GARBAGE) else None)(presto_rows(
        f"select kafka_offset, reason, raw_event, kafka_partition, timestamp from hive_bad_events "
        f"where kafka_offset between {offsets[0]} and {offsets[-1]} order by kafka_offset")),
        LANDING_TIMEOUT, what="garbage in hive_bad_events")
    assert [r[0] for r in rows] == list(offsets)
    assert [r[2].encode() for r in rows] == [g.replace(b"TAG", tag.encode()) for g, _ in GARBAGE]
    assert [r[1] for r in rows] == [reason for _, reason in GARBAGE]
    assert all(r[3] == 0 and r[4] for r in rows)
    landed, _ = wait_for(lambda: presto_rows(f"select amount from hive_events where user = '{good_user}'"),
                         LANDING_TIMEOUT, what="the good event after the garbage")
    assert [int(a) for (a,) in landed] == [9]


BATCH_FILE = re.compile(rf"{re.escape(settings.EVENTS_PATH)}/(batch-(\d{{12}})\.parquet)$")


@pytest.mark.timeout(5 * LANDING_TIMEOUT + 60, func_only=True)
def test_freshness_and_batches(pipeline, tag):
    """Seconds from a 2xx reply to the row being visible in Presto, over a short run. Each
    row lands once, in a batch file of the table, and each request (sent once the one
    before was visible) lands in a later batch than the one before."""
    waits = []
    for i in range(5):
        user = f"fresh{i}-{tag}"
        assert requests.get(f"{API}/get_paid", params={"user": user, "amount": str(i)}, timeout=10).ok
        _, waited = wait_for(lambda: presto_rows(f"select 1 from hive_events where user = '{user}'"),
                             LANDING_TIMEOUT, interval=0.25, what=f"row of {user}")
        waits.append(waited)
        time.sleep(i * 1.7 % 10)  # on purpose: the next request reaches a different point of the trigger
    record_figure("freshness seconds (median, worst)", (round(statistics.median(waits), 1), round(max(waits), 1)))
    rows = sorted(presto_rows('select user, amount, "$path" from hive_events '
                              f"where user like 'fresh%-{tag}'"))
    assert [(u, int(a)) for u, a, _ in rows] == [(f"fresh{i}-{tag}", i) for i in range(5)]
    files = hdfs_names(settings.EVENTS_PATH)
    batches = []
    for user, _, path in rows:
        m = BATCH_FILE.search(path)
        assert m and m[1] in files, (user, path)
        batches.append(int(m[2]))
    assert batches == sorted(set(batches)), batches


def test_the_stream_refuses_to_start_without_its_checkpoint_beside_landed_files(pipeline, tag):
    """Batch ids restart at 0 without a checkpoint; the landed batch-<id> files would then
    make the job skip new batches. It must stop with one plain line instead."""
    env = {**os.environ, "CHECKPOINT_PATH": f"/tmp/no-such-checkpoint-{tag}"}
    res = run(BIN / "spark-submit", ROOT / "write_event_stream.py", check=False, timeout=240, env=env)
    assert res.returncode != 0
    assert "holds landed files but the checkpoint" in res.stderr + res.stdout
