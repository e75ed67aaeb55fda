"""The event catalogue and what derives from it, against the seed's facts (tests/data)."""
import json
import re

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from game_events import catalogue
from tests.support.data import GUILD_FEE, ROUTES, SWORD_PRICES, seed_describe_table


def presto_type(hive_type: str) -> str:
    return {"string": "varchar"}.get(hive_type, hive_type)


def test_columns_are_the_seeds_table():
    assert [(n, presto_type(t)) for n, t in catalogue.COLUMNS] == seed_describe_table()


def test_every_event_field_has_a_column_of_the_right_kind():
    columns = dict(catalogue.COLUMNS)
    for name in catalogue.event_fields():
        assert name in columns
        assert columns[name] == ("decimal(10,0)" if name in catalogue.COIN_FIELDS else "string")
    for _, column in catalogue.HEADERS:
        assert columns[column] == "string"
    assert set(catalogue.COIN_FIELDS) == {"price", "fee", "amount"}


def test_seed_events_routes_and_prices():
    ev = catalogue.EVENTS
    assert {e.route: t for t, e in ev.items()} == ROUTES
    assert (catalogue.SWORD_PRICES, catalogue.GUILD_FEE) == (SWORD_PRICES, GUILD_FEE)
    for sword, price in [("gold", 15), ("silver", 10), ("bronze", 5)]:
        assert ev["purchase_sword"].build({"user": "u", "type": sword}) == {
            "event_type": "purchase_sword", "user": "u", "type": sword, "price": price}
    assert ev["join_a_guild"].build({"user": "u", "name": "g"}) == {
        "event_type": "join_a_guild", "user": "u", "name": "g", "fee": 5}
    assert ev["get_paid"].build({"user": "u", "amount": "0042"})["amount"] == 42


def test_coin_pattern_bounds():
    (coins,) = [p for p in catalogue.EVENTS["get_paid"].params if p.name == "amount"]
    ok = ["0", "7", str(catalogue.MAX_COINS)]
    bad = ["", "-1", "1.5", "1e3", str(catalogue.MAX_COINS + 1), "abc", " 1"]
    assert catalogue.MAX_COINS == 9999999999
    assert all(re.fullmatch(coins.pattern, v) for v in ok)
    assert not any(re.fullmatch(coins.pattern, v) for v in bad)


def test_the_event_id_is_in_the_record_first_and_no_column():
    """The id travels in Kafka and raw_event, first, but hive_events stays the seed's table."""
    assert "event_id" not in dict(catalogue.COLUMNS) and "event_id" not in catalogue.event_fields()
    body = catalogue.EVENTS["get_paid"].build({"user": "u", "amount": "1"})
    record = catalogue.record("0f8fad5b-d9cb-469f-a165-70867728950e", {"Accept": None, "Host": "h", "User-Agent": "a"},
                              body)
    assert list(record) == ["event_id", "Accept", "Host", "User-Agent", "event_type", "user", "amount"]
    ok = ["0f8fad5b-d9cb-469f-a165-70867728950e", "00000000-0000-0000-0000-000000000000"]
    bad = ["0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5bd9cb469fa16570867728950e", "", "0f8fad5b-d9cb-469f-a165",
           "{0f8fad5b-d9cb-469f-a165-70867728950e}", "0f8fad5b-d9cb-469f-a165-70867728950e\n"]
    assert all(catalogue.EVENT_ID.kind.regex.fullmatch(v) for v in ok)
    assert not any(catalogue.EVENT_ID.kind.regex.fullmatch(v) for v in bad)


def test_ddl_lists_every_column_in_order():
    events_ddl, bad_ddl = catalogue.statements()
    assert re.findall(r"`(\w+)` ", events_ddl) == [n for n, _ in catalogue.COLUMNS]
    assert re.findall(r"`(\w+)` ", bad_ddl) == [n for n, _ in catalogue.BAD_COLUMNS]
    assert "STORED AS PARQUET" in events_ddl and "LOCATION '/tmp/game_events'" in events_ddl


# Values as the API puts them in an event: text (any code point, escapes included), whole
# numbers and null, under header and field names.
_values = st.one_of(st.text(max_size=40), st.integers(-(2 ** 63), 2 ** 63 - 1), st.none())


# Generating the examples may be slow on a busy machine; that is no failure of encode.
@hypothesis_settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(min_size=1, max_size=12), _values, max_size=12))
def test_encode_writes_exactly_what_json_dumps_writes(body):
    """encode takes orjson's output only where it is json.dumps' compact form, byte for byte:
    the stream's fast path and every test that compares Kafka's bytes rely on that form."""
    assert catalogue.encode(body) == json.dumps(body, separators=(",", ":")).encode()


def test_encode_escapes_non_ascii_and_del_as_json_does():
    body = {"Host": "h\u00e9te", "event_type": "get_paid", "user": "\u2603\x7f", "amount": 5}
    assert catalogue.encode(body) == b'{"Host":"h\\u00e9te","event_type":"get_paid","user":"\\u2603\\u007f","amount":5}'


def test_encode_matches_json_dumps_on_every_ascii_character():
    # Control characters, DEL and the characters JSON escapes, each in a key and a value.
    for cp in range(0x80):
        body = {f"k{chr(cp)}": f"v{chr(cp)}"}
        assert catalogue.encode(body) == json.dumps(body, separators=(",", ":")).encode(), hex(cp)
