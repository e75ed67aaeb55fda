"""Unit tests of the event catalogue and what derives from it; no stack needed."""
import re
from pathlib import Path

from game_events import catalogue, tables

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_3e288d6e4cde1f26.txt"


def seed_describe_table() -> list[tuple[str, str]]:
    """The `describe hive_events` table printed in the seed document."""
    text = SEED.read_text()
    block = text[text.index("Column   |     Type"):text.index("(12 rows)")]
    rows = [ln.split("|") for ln in block.splitlines()[2:] if "|" in ln]
    return [(c.strip(), t.strip()) for c, t, *_ in rows]


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


def test_seed_events_and_prices():
    ev = catalogue.EVENTS
    assert set(ev) == {"default", "purchase_sword", "join_a_guild", "quit_guild", "get_paid"}
    assert ev["purchase_sword"].build({"user": "u", "type": "silver"}) == {
        "event_type": "purchase_sword", "user": "u", "type": "silver", "price": 10}
    assert ev["join_a_guild"].build({"user": "u", "name": "g"})["fee"] == 5
    assert ev["get_paid"].build({"user": "u", "amount": "0042"})["amount"] == 42


def test_coin_pattern_bounds():
    (coins,) = [p for p in catalogue.EVENTS["get_paid"].params if p.kind == "coins"]
    ok = ["0", "7", str(catalogue.MAX_COINS)]
    bad = ["", "-1", "1.5", "1e3", str(catalogue.MAX_COINS + 1), "abc", " 1"]
    assert all(re.fullmatch(coins.pattern, v) for v in ok)
    assert not any(re.fullmatch(coins.pattern, v) for v in bad)


def test_ddl_lists_every_column_in_order():
    events_ddl, bad_ddl = tables.statements()
    assert re.findall(r"`(\w+)` ", events_ddl) == [n for n, _ in catalogue.COLUMNS]
    assert re.findall(r"`(\w+)` ", bad_ddl) == [n for n, _ in catalogue.BAD_COLUMNS]
    assert "STORED AS PARQUET" in events_ddl and "LOCATION '/tmp/game_events'" in events_ddl
