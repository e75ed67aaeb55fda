"""The stream's parsing rules, derived from the catalogue, as Spark column expressions
(no Python UDFs).

parse() turns Kafka records into rows with a `reason` column that is null for a valid
event and otherwise names the first rule the record breaks, and an `event_id` column: the
record's id, null when it has none. hive_events has no column for the id (the landing
leaves it out); it is there for the stream's deduplication to come.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from game_events import catalogue
from game_events.stream import parsers

CORRUPT = "_corrupt_record"
ID = catalogue.EVENT_ID.name


def json_schema() -> T.StructType:
    # Every field is read as text; the rules below decide which texts are valid, so a
    # wrong type is a reason, never a silent null.
    names = [ID] + catalogue.event_fields() + [h for h, _ in catalogue.HEADERS]
    return T.StructType([T.StructField(n, T.StringType()) for n in names + [CORRUPT]])


def _full(pattern: str) -> str:
    return f"^{pattern}$"


def json_type(name: str) -> Column:
    """The JSON type of a top-level field, as Spark's variant names it (STRING, BIGINT,
    OBJECT<...>, VOID for null): from_json reads every field as text, so this is what
    tells the number 5 from the string "5"."""
    return F.schema_of_variant(F.try_variant_get(strict_json(), f"$['{name}']", "variant"))


def strict_json() -> Column:
    # Written out at each use, not projected once: only records off the fast path (see
    # parse) reach these rules, and a projected column would be parsed for every record.
    return F.try_parse_json(F.col("raw_event"))


def reasons() -> list[tuple[Column, Column | str]]:
    """(condition, reason) pairs in order; the first that holds names what is wrong."""
    e = F.col("e")
    etype = e["event_type"]
    rules: list[tuple[Column, Column | str]] = [
        (~F.is_valid_utf8(F.col("value").cast("string")), "invalid UTF-8"),
        (e.isNull() | e[CORRUPT].isNotNull() | ~F.ltrim(F.col("raw_event")).startswith("{"), "not a JSON object"),
        # Jackson (from_json) tolerates what strict JSON parsing refuses, such as a field given twice.
        (strict_json().isNull(), "not strict JSON (a repeated field name or a non-standard value)"),
        (etype.isNull(), "missing field event_type"),
        (json_type("event_type") != "STRING", "field event_type must be a JSON string"),
        (~etype.isin(list(catalogue.EVENTS)), F.concat(F.lit("unknown event_type: "), F.substring(etype, 1, 64))),
    ]
    known = {ID} | set(catalogue.event_fields()) | {h for h, _ in catalogue.HEADERS}
    unknown = F.array_except(F.json_object_keys("raw_event"), F.array(*map(F.lit, sorted(known))))
    rules.append((F.size(unknown) > 0,
                  F.concat(F.lit("unknown field: "), F.substring(F.array_join(unknown, ","), 1, 64))))
    # The id is optional (other producers may leave it out), but never anything but a UUID.
    rules.append((~e[ID].rlike(_full(catalogue.EVENT_ID.pattern)), f"invalid field {ID}"))
    rules.append((json_type(ID) != catalogue.EVENT_ID.kind.json_type, f"field {ID} must be a JSON string"))
    for header, _ in catalogue.HEADERS:
        rules.append((F.length(e[header]) > catalogue.MAX_HEADER, f"field {header} too long"))
        rules.append((~json_type(header).isin("STRING", "VOID"), f"field {header} must be a JSON string or null"))
    for ev in catalogue.EVENTS.values():
        is_ev = etype == ev.event_type
        for p in ev.params:
            rules.append((is_ev & e[p.name].isNull(), f"missing field {p.name}"))
            rules.append((is_ev & ~e[p.name].rlike(_full(p.pattern)), f"invalid field {p.name}"))
            rules.append((is_ev & (json_type(p.name) != p.kind.json_type),
                          f"field {p.name} must be a JSON {p.kind.json_type_name}"))
        for d in ev.derived:
            expected = (F.lit(d.constant) if d.table is None
                        else F.element_at(F.create_map(*[F.lit(x) for kv in d.table.items() for x in kv]),
                                          e[d.key]))
            rules.append((is_ev & (e[d.name].isNull() | ~e[d.name].rlike(_full(d.kind.pattern))
                                   | (e[d.name].try_cast("bigint") != expected)), f"invalid field {d.name}"))
            rules.append((is_ev & (json_type(d.name) != d.kind.json_type),
                          f"field {d.name} must be a JSON {d.kind.json_type_name}"))
        for other in set(catalogue.event_fields()) - set(ev.fields):
            rules.append((is_ev & e[other].isNotNull(), f"unexpected field {other} for {ev.event_type}"))
    return rules


def in_api_form(parser: str) -> Column:
    """True for a Kafka record in exactly the form the API writes (see parsers); false, not
    null, for a tombstone."""
    return parsers.form(parser).isNotNull()


def parse_api_form(kafka_records: DataFrame, parser: str) -> tuple[DataFrame, Callable[[], int]]:
    """Kafka records -> one row per record: every column of hive_events and event_id, from
    the API's form alone, and `in_api_form`; a record outside that form has only its raw_event and
    timestamp. The stream's first pass: it needs none of the rules, so their expressions
    are neither planned nor compiled for a batch in which every record is in that form
    (the usual case), which saves seconds on a cold start. Also returns a function that
    gives, once an action has run, how many records were outside the form."""
    api = F.col("api")
    columns = [api[name].alias(name) if name not in dict(catalogue.RECORD_COLUMNS) else F.col(name)
               for name, _ in catalogue.COLUMNS]
    first, misses = parsers.with_form(kafka_records, parser, F.col("value").cast("string").alias("raw_event"),
                                      F.col("timestamp").cast("string").alias("timestamp"))
    return first.select(*columns, api[ID].alias(ID), api.isNotNull().alias("in_api_form")), misses


def parse_others(kafka_records: DataFrame, parser: str) -> DataFrame:
    """parse() of only the records outside the API's form, through every rule: the stream's
    second pass, for a batch that has any. With parse_api_form's rows in that form, it
    gives every record what parse() gives it."""
    return parse(kafka_records.where(~in_api_form(parser)), parser=None)


def parse(kafka_records: DataFrame, parser: str | None) -> DataFrame:
    """Kafka records -> one row per record: every column of hive_events and of
    hive_bad_events, `event_id` and `reason` (null for a valid event).

    With a parser (parsers.PARSERS), a record in exactly the form the API writes is valid
    by construction and skips the rules: one parse of the form instead of a JSON parse,
    some forty checks and a second, strict JSON parse. parser=None applies the rules to
    every record (the tests check that all ways give the same answers)."""
    parsed = kafka_records
    for columns in _stages(parser):
        parsed = parsed.select(*columns)
    return parsed


@functools.cache
def _stages(parser: str | None) -> tuple[list[Column | str], ...]:
    # Built once per process: the stream parses every micro-batch with the same columns, and
    # building the rules' expressions through py4j took 0.4-0.6 s of each batch's landing.
    # They name columns, not a DataFrame's, so any batch can use them.
    # Each stage is its own projection, and everything after the first is computed only for
    # the records outside the API's form (api is null): JSON parsing, the rules and the
    # UTF-8 repair cost those records alone.
    api, value = F.col("api"), F.col("value").cast("string")
    record = [
        "value", "partition", "offset",
        F.col("timestamp").cast("string").alias("timestamp"),
        (parsers.form(parser) if parser else F.lit(None).cast(parsers.schema())).alias("api"),
    ]
    # Valid UTF-8 is its own make_valid_utf8.
    raw = ["*", F.when(api.isNotNull(), value).otherwise(F.make_valid_utf8(value)).alias("raw_event")]
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT, "allowSingleQuotes": "false"}
    with_json = ["*", F.when(api.isNull(), F.from_json("raw_event", json_schema(), options)).alias("e")]
    reason = F.lit(None).cast("string")
    for cond, why in reversed(reasons()):
        reason = F.when(F.coalesce(cond, F.lit(False)), why).otherwise(reason)
    headers = dict((col, F.col("e")[h]) for h, col in catalogue.HEADERS)
    event = []
    for name, hive_type in catalogue.COLUMNS:
        if name in dict(catalogue.RECORD_COLUMNS):
            event.append(F.col(name))
            continue
        parsed = headers[name] if name in headers else F.col("e")[name].try_cast(hive_type)
        event.append(F.when(api.isNotNull(), api[name]).otherwise(parsed).alias(name))
    event.append(F.when(api.isNotNull(), api[ID]).otherwise(F.col("e")[ID]).alias(ID))
    event += [F.when(api.isNull(), reason).alias("reason"), F.col("partition").alias("kafka_partition"),
              F.col("offset").alias("kafka_offset")]
    return record, raw, with_json, event
