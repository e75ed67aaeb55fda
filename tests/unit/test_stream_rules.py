"""The streaming job's parsing rules on a local Spark session (no Kafka, no HDFS): every
kind of bad record gets its reason, and a good event passes with its values."""
import datetime
import json
import uuid

from game_events import catalogue
from game_events.stream import landing, parsers, rules
from tests.support.poison import KINDS, good


def records(spark, values: list[bytes | None]):
    """Kafka records as Spark's Kafka source gives them, at offsets 0, 1, 2, ..."""
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField("value", T.BinaryType()), T.StructField("partition", T.IntegerType()),
                           T.StructField("offset", T.LongType()), T.StructField("timestamp", T.TimestampType())])
    now = datetime.datetime(2026, 1, 1)
    return spark.createDataFrame([(v, 0, i, now) for i, v in enumerate(values)], schema)


def parsed(spark, values: list[bytes | None], parser: str | None = "sql") -> list:
    """rules.parse(): with a parser, records in the API's form skip the rules; None: every
    record through every rule."""
    return rules.parse(records(spark, values), parser).orderBy("kafka_offset").collect()


def test_every_kind_of_bad_record_gets_its_reason(spark):
    rows = parsed(spark, [make(7) for _, make, _ in KINDS])
    got = [(kind, row["reason"]) for (kind, _, _), row in zip(KINDS, rows)]
    assert got == [(kind, reason) for kind, _, reason in KINDS]


def test_a_good_event_passes_with_its_values(spark):
    (row,) = parsed(spark, [good("alice", 42)])
    assert row["reason"] is None
    assert (row["event_type"], row["user"], int(row["amount"]), row["host"]) == ("get_paid", "alice", 42,
                                                                                 "localhost:5000")


def test_every_event_the_api_can_build_passes(spark):
    values = {"user": "bob", "type": "silver", "name": "knights", "amount": "0"}
    events = [catalogue.EVENTS[t].build({p.name: values[p.name] for p in e.params})
              for t, e in catalogue.EVENTS.items()]
    rows = parsed(spark, [json.dumps({"Accept": None, "Host": "h", "User-Agent": "ua", **e}).encode() for e in events])
    assert [r["reason"] for r in rows] == [None] * len(events)


ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def api_form(event_id=ID, **fields) -> bytes:
    return catalogue.encode(catalogue.record(event_id, {"Accept": "*/*", "Host": "h:5000", "User-Agent": "ua"}, fields))


def with_headers(headers: dict, **fields) -> bytes:
    return catalogue.encode(catalogue.record(ID, headers, fields))


# The start of a record in the API's form, up to its event_type.
HEAD = b'{"event_id":"%s","Accept":null,"Host":"h","User-Agent":"ua",' % ID.encode()


IN_API_FORM: list[bytes] = []


def fast(value: bytes) -> bytes:
    """Marks a record that is in exactly the form the API writes, so it takes the fast path."""
    IN_API_FORM.append(value)
    return value


# Records in (or one step off) the exact form the API writes: the fast path must accept
# the valid ones (fast) and hand every other one to the rules, whatever they make of it.
NEAR_MISSES = [
    fast(api_form(event_type="get_paid", user="u" * 64, amount=0)),
    api_form(event_type="get_paid", user="u" * 65, amount=1),
    fast(api_form(event_type="get_paid", user="u", amount=9999999999)),
    api_form(event_type="get_paid", user="u", amount=10000000000),
    api_form(event_type="get_paid", user="u", amount=-1),
    api_form(event_type="get_paid", user="u", amount=1.5),
    api_form(event_type="get_paid", user="u", amount="5"),
    api_form(event_type="get_paid", user="u", amount=True),
    api_form(event_type="get_paid", user="u")[:-1] + b',"amount":007}',
    api_form(event_type="get_paid", user="u", amount=1)[:-1] + b',"amount":2}',
    api_form(event_type="purchase_sword", user="u", type="gold", price=10),
    fast(api_form(event_type="purchase_sword", user="u", type="gold", price=15)),
    api_form(event_type="purchase_sword", user="u", type="tin", price=15),
    fast(api_form(event_type="join_a_guild", user="u", name="n", fee=5)),
    api_form(event_type="join_a_guild", user="u", name="n", fee=6),
    api_form(event_type="join_a_guild", user="u", name="n"),
    fast(api_form(event_type="quit_guild", user="u", name="n")),
    api_form(event_type="quit_guild", user="u", name="n", fee=5),
    fast(api_form(event_type="default")),
    api_form(event_type="default", user="u"),
    api_form(event_type="get_paid", user="é ü \ufffd", amount=3),  # escaped by encode(): rules only
    fast(HEAD + b'"event_type":"get_paid","user":"\xc3\xa9","amount":3}'),
    fast(HEAD + b'"event_type":"get_paid","user":"\xef\xbf\xbd","amount":3}'),
    HEAD + b'"event_type":"get_paid","user":"\xff","amount":3}',
    HEAD + b'"event_type":"get_paid","user":"a\x7fb","amount":3}',
    HEAD + b'"event_type":"get_paid","user":"a\tb","amount":3}',
    api_form(event_type="get_paid", user="a\"b\\c", amount=3),
    fast(with_headers({"Accept": None, "Host": None, "User-Agent": None}, event_type="get_paid", user="u", amount=1)),
    fast(with_headers({"Accept": "x" * 256, "Host": "", "User-Agent": "ua"}, event_type="get_paid", user="u",
                      amount=1)),
    with_headers({"Accept": "x" * 257, "Host": "", "User-Agent": "ua"}, event_type="get_paid", user="u", amount=1),
    with_headers({"Host": "h", "Accept": "a", "User-Agent": "ua"}, event_type="get_paid", user="u", amount=1),
    with_headers({"Accept": "a", "Host": "h", "User-Agent": 5}, event_type="get_paid", user="u", amount=1),
    b" " + api_form(event_type="get_paid", user="u", amount=1),
    api_form(event_type="get_paid", user="u", amount=1) + b"\n",
    api_form(event_type="get_paid", user="u", amount=1) + b"{}",
    # The id: present, first and canonical in the API's form. Without it, or elsewhere, a
    # valid event still lands through the rules; anything but a canonical UUID is quarantined.
    fast(api_form(event_type="get_paid", user="u", amount=1, event_id="00000000-0000-0000-0000-000000000000")),
    fast(api_form(event_type="default", event_id="ffffffff-ffff-ffff-ffff-ffffffffffff")),
    catalogue.encode({"Accept": "*/*", "Host": "h:5000", "User-Agent": "ua", "event_type": "get_paid", "user": "u",
                      "amount": 1}),
    catalogue.encode({"Accept": "*/*", "Host": "h:5000", "User-Agent": "ua", "event_id": ID,
                      "event_type": "get_paid", "user": "u", "amount": 1}),
    catalogue.encode({"Accept": "*/*", "Host": "h:5000", "User-Agent": "ua", "event_type": "get_paid", "user": "u",
                      "amount": 1, "event_id": ID}),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID.upper()),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID[:-1]),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID + "0"),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID.replace("-", "")),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID.replace("-", "_")),
    api_form(event_type="get_paid", user="u", amount=1, event_id="{%s}" % ID),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID[:-1] + "g"),
    api_form(event_type="get_paid", user="u", amount=1, event_id=ID[:-1] + "é"),
    api_form(event_type="get_paid", user="u", amount=1, event_id=None),
    api_form(event_type="get_paid", user="u", amount=1, event_id=""),
    api_form(event_type="get_paid", user="u", amount=1, event_id=5),
    api_form(event_type="get_paid", user="u", amount=1).replace(b'"event_id"', b'"Event_id"'),
    api_form(event_type="get_paid", user="u", amount=1).replace(b'"event_id":', b'"event_id" :'),
    api_form(event_type="get_paid", user="u", amount=1).replace(b'{"event_id":"0', b'{"event_id":"\\u0030'),
]


def test_the_fast_path_agrees_with_the_rules_on_every_record(spark, parser, codegen):
    values = NEAR_MISSES + [make(3) for _, make, _ in KINDS] + [good("bob", 5)]
    fast, slow = parsed(spark, values, parser), parsed(spark, values, None)
    assert [r.asDict() for r in fast] == [r.asDict() for r in slow]
    took_fast_path = [r["value"] for r in records(spark, NEAR_MISSES).where(rules.in_api_form(parser)).collect()]
    assert sorted(took_fast_path) == sorted(IN_API_FORM)
    # Not vacuous: the set holds valid and invalid records.
    assert 8 <= sum(r["reason"] is None for r in slow) < len(values) - 40


def test_the_landings_two_passes_give_what_the_rules_give(spark, parser):
    """The landing parses in two passes: the records in the API's form (rules.parse_api_form)
    and then only the others, through every rule (rules.parse_others). Together they must
    give every record exactly what the rules give it, a tombstone too."""
    df = records(spark, NEAR_MISSES + [make(3) for _, make, _ in KINDS] + [good("bob", 5), None])
    columns = [n for n, _ in catalogue.COLUMNS]
    whole = {r["kafka_offset"]: r.asDict() for r in rules.parse(df, None).collect()}
    # A projection keeps the records' order: the first pass's row i is the record at offset i.
    fast = {offset: {**{c: r[c] for c in columns}, "reason": None}
            for offset, r in enumerate(rules.parse_api_form(df, parser)[0].collect()) if r["in_api_form"]}
    others = {r["kafka_offset"]: r.asDict() for r in rules.parse_others(df, parser).collect()}
    assert set(fast) | set(others) == set(whole) and not set(fast) & set(others)
    assert fast == {o: {c: whole[o][c] for c in columns + ["reason"]} for o in fast}
    assert others == {o: whole[o] for o in others}
    bad = {o: r["reason"] for o, r in others.items() if r["reason"] is not None}
    assert len(bad) >= 40 and "not a JSON object" in bad.values()
    assert len(fast) >= 10


def test_an_id_is_optional_but_never_anything_but_a_uuid(spark, parser):
    """A record of another producer may have no id and still land; one with an id must hold
    a canonical UUID. Every parsed row carries the id it has (hive_events has no column
    for it: the landing leaves it out)."""
    no_id = catalogue.encode({"Accept": None, "Host": "h", "User-Agent": "ua", "event_type": "get_paid", "user": "u",
                              "amount": 1})
    values = [api_form(event_type="get_paid", user="u", amount=1), no_id,
              api_form(event_type="get_paid", user="u", amount=1, event_id=ID.upper()),
              api_form(event_type="get_paid", user="u", amount=1, event_id=5),
              api_form(event_type="get_paid", user="u", amount=1, event_id=None)]
    assert [(r["reason"], r["event_id"]) for r in parsed(spark, values, parser)] == [
        (None, ID), (None, None), ("invalid field event_id", ID.upper()), ("invalid field event_id", "5"),
        ("field event_id must be a JSON string", None)]
    first_pass, _ = rules.parse_api_form(records(spark, values[:2]), parser)
    assert [(r["event_id"], r["in_api_form"]) for r in first_pass.collect()] == [(ID, True), (None, False)]
    assert "event_id" not in landing.EVENT_COLUMNS


# How each parser's work shows in an executed plan.
PARSE_IN_PLAN = {"java": "api_form(", "sql": "RLIKE"}


def test_the_first_pass_counts_each_record_outside_the_form_once(spark, parser):
    """The landing runs its rules only for a batch in which the parser counted records outside
    the API's form. The count must miss none (a tombstone too), and the filter that the
    landing puts after the parse must not make Spark parse a record twice."""
    first_pass, misses = rules.parse_api_form(records(spark, NEAR_MISSES + [None]), parser)
    first_pass = first_pass.where("in_api_form AND event_type != 'default'").select("raw_event")
    assert str(first_pass._jdf.queryExecution().executedPlan()).count(PARSE_IN_PLAN[parser]) == 1
    landed = first_pass.collect()
    assert misses() == len(NEAR_MISSES) + 1 - len(IN_API_FORM)
    assert sorted(r["raw_event"].encode() for r in landed) == sorted(v for v in IN_API_FORM
                                                                     if b'"event_type":"default"' not in v)


def test_every_event_the_api_writes_takes_the_fast_path(spark, parser):
    """What catalogue.encode makes of each event the API can build is in the form the
    stream's parsers take (parsers.form), with its values, so valid traffic skips the rules."""
    values = [{"user": "u" * 64, "name": "n", "amount": "9999999999"}, {"user": "Bob the 2nd", "name": "knights",
                                                                       "amount": "0"}]
    bodies = []
    for v in values:
        for e in catalogue.EVENTS.values():
            for choice in (e.params[1].choices if len(e.params) > 1 and e.params[1].choices else ("",)):
                built = e.build({p.name: (choice if p.choices else v[p.name]) for p in e.params})
                for headers in ({"Accept": "*/*", "Host": "localhost:5000", "User-Agent": "ApacheBench/2.3"},
                                {"Accept": None, "Host": "h" * 256, "User-Agent": None}):
                    event_id = str(uuid.uuid4())
                    bodies.append((headers, {"event_id": event_id, **built},
                                   catalogue.encode(catalogue.record(event_id, headers, built))))
    assert len(bodies) == 2 * 2 * (len(catalogue.EVENTS) + 2)
    got = records(spark, [b for _, _, b in bodies]).select(parsers.form(parser).alias("api")).collect()
    for (headers, built, _), row in zip(bodies, got):
        assert row["api"] is not None
        parsed_values = {k: (int(v) if k in catalogue.COIN_FIELDS else v)
                         for k, v in row["api"].asDict().items() if v is not None}
        expected = {column: headers[h] for h, column in catalogue.HEADERS if headers[h] is not None}
        assert parsed_values == {**expected, **built}
