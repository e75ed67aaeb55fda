"""The stream's two parsers of the API's own form (catalogue.wire_spec), behind one seam.

    java  game_events/stream/java/ApiForm.java, a Catalyst expression: one pass over the
          bytes. `make install` builds it with Maven against the pinned Spark. Catalyst is
          Spark's internal API, so the stream loads the jar only when its manifest names the
          Spark that runs it, and falls back to sql, with one log line, when it cannot.
    sql   Spark's built-in functions alone: a regular expression made from the same spec
          recognises the form and from_json with the form's schema reads it. No jar.

Both give a record's event columns as a struct when its value is in exactly that form, and
null otherwise (a tombstone too). STREAM_PARSER picks one; tests/unit checks that the two
agree record by record.
"""
from __future__ import annotations

import functools
import itertools
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from game_events import catalogue, settings
from game_events.stream.progress import CHOSEN

log = logging.getLogger("game_events.stream")
JAVA, SQL = "java", "sql"
PARSERS = (JAVA, SQL)
JAVA_CLASS = "game_events.stream.ApiForm"


# --- the spec, read back: the sql parser's schema and pattern ------------------------

@dataclass(frozen=True)
class Spec:
    columns: tuple[tuple[str, str], ...]  # (column, Spark DDL type), the struct's fields in order
    ids: tuple[str, ...]  # the record's UUID keys (event_id), first in the record
    headers: tuple[tuple[str, str, int], ...]  # (JSON key, column, most characters)
    events: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # (event type, its field lines)


@functools.cache
def spec() -> Spec:
    columns, ids, headers, events = [], [], [], []
    for words in (line.split("\t") for line in catalogue.wire_spec().splitlines()):
        if words[0] == "column":
            columns.append((words[1], words[2]))
        elif words[0] == "uuid" and not events:
            ids.append(words[1])
        elif words[0] == "header":
            headers.append((words[1], words[2], int(words[3])))
        elif words[0] == "event":
            events.append((words[1], []))
        else:
            events[-1][1].append(tuple(words))
    return Spec(tuple(columns), tuple(ids), tuple(headers), tuple((e, tuple(f)) for e, f in events))


def schema() -> T.StructType:
    """The struct both parsers return."""
    return T.StructType([T.StructField(name, T._parse_datatype_string(ddl)) for name, ddl in spec().columns])


# What ApiForm.string() accepts between the quotes, without the bounds: no quote, no
# backslash (so nothing escaped), no control character; a field's text no DEL either.
_HEADER_CHARS = '[^"\\\\\\x00-\\x1f]'
_TEXT_CHARS = '[^"\\\\\\x00-\\x1f\\x7f]'
# A UUID as ApiForm.uuid() reads it: canonical, lowercase.
_UUID = '"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"'


def _value_pattern(words: tuple[str, ...], chosen: dict[str, str]) -> str:
    kind, key = words[0], words[1]
    if kind == "text":
        value = '"%s{1,%s}"' % (_TEXT_CHARS, words[2])
    elif kind == "choice":
        value = '"%s"' % re.escape(chosen[key]) if key in chosen else \
            '"(?:%s)"' % "|".join(re.escape(c) for c in words[2:])
    elif kind == "coins":
        value = "(?:0|[1-9][0-9]{0,%d})" % (int(words[2]) - 1)
    elif kind == "constant":
        value = re.escape(words[2])
    elif kind == "lookup":
        value = re.escape(dict(w.split("=", 1) for w in words[3:])[chosen[words[2]]])
    else:
        raise ValueError(f"unknown field kind in the API form's spec: {kind}")
    return f',"{key}":{value}'


@functools.cache
def wire_pattern() -> str:
    """A Java regular expression that matches exactly the values ApiForm reads: a lookup's
    value is tied to its choice by one alternative per combination of those choices."""
    s = spec()
    # The record's own keys first: its ids, then the copied headers.
    record = ",".join(['"%s":%s' % (key, _UUID) for key in s.ids]
                      + ['"%s":(?:"%s{0,%d}"|null)' % (key, _HEADER_CHARS, most) for key, _, most in s.headers])
    alternatives = []
    for event_type, fields in s.events:
        keys = sorted({w[2] for w in fields if w[0] == "lookup"})
        choices = [next(w[2:] for w in fields if w[0] == "choice" and w[1] == k) for k in keys]
        for combo in itertools.product(*choices):
            chosen = dict(zip(keys, combo))
            alternatives.append(f'"{re.escape(event_type)}"' + "".join(_value_pattern(w, chosen) for w in fields))
    # \z, not $: Java's $ also matches before a final line break.
    return "^\\{" + record + ',"event_type":(?:' + "|".join(alternatives) + ")\\}\\z"


def sql_form() -> Column:
    """The API's form through Spark's built-in functions: rlike recognises it and from_json
    reads it (every value there is plain JSON: no escapes, keys in order)."""
    value = F.col("value").cast("string")
    s = spec()
    keys = {column: key for key, column, _ in s.headers}
    # The JSON's keys in the struct's order, so that a cast renames them by position.
    json_schema = T.StructType([T.StructField(keys.get(c, c), T._parse_datatype_string(t)) for c, t in s.columns])
    # One from_json of the value or of null: taking each field of it inside when() would
    # parse the record once per field (no common subexpressions in a conditional branch).
    matched = F.when(F.is_valid_utf8(value) & value.rlike(wire_pattern()), value)
    return F.from_json(matched, json_schema).cast(schema())


# --- the java parser's jar ---------------------------------------------------------------

def jar_problem(jar: Path, spark_version: str) -> str | None:
    """Why the jar cannot serve this Spark, or None: it is missing, unreadable, or built
    for another Spark (its manifest's Spark-Version)."""
    if not jar.is_file():
        return f"{jar} is missing (make install builds it)"
    try:
        with zipfile.ZipFile(jar) as z:
            manifest = z.read("META-INF/MANIFEST.MF").decode()
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        return f"{jar} is unreadable ({e})"
    built = dict(line.split(": ", 1) for line in manifest.splitlines() if ": " in line).get("Spark-Version")
    if built != spark_version:
        return f"{jar} was built for Spark {built or 'unknown'}, and Spark {spark_version} runs here"
    return None


def jvm_class(session, name: str = JAVA_CLASS):
    """The class in the session's JVM (a py4j JavaClass), or a JavaPackage when it is not there."""
    jvm = session.sparkContext._jvm
    for part in name.split("."):
        jvm = getattr(jvm, part)
    return jvm


def java_form(misses=None) -> Column:
    """The API's form through ApiForm (its jar in spark.jars). misses: a JVM LongAccumulator
    (see misses_counter) that counts the records for which it is null, or None."""
    from pyspark.sql import SparkSession

    cls = jvm_class(SparkSession.getActiveSession())
    return Column(cls.column(F.col("value")._jc, catalogue.wire_spec(), misses))


def load_problem(session) -> str | None:
    """Why ApiForm cannot be used in this session's JVM, or None: the jar's class must load
    and build its expression."""
    from py4j.java_gateway import JavaClass
    from py4j.protocol import Py4JError

    if not isinstance(jvm_class(session), JavaClass):
        return f"{JAVA_CLASS} is not on the classpath"
    try:
        java_form()
    except Py4JError as e:
        return f"{JAVA_CLASS} does not load ({str(e).splitlines()[0][:200]})"
    return None


def choose(session, wanted: str = settings.STREAM_PARSER, jar: Path = settings.STREAM_JAR) -> str:
    """The parser this session parses with: the one asked for, or sql, with one line saying
    why, when java cannot be used here. Only here is the jar loaded, by Spark's ADD JAR (the
    driver's classes and the executors'), so no other Spark job ever has it."""
    if wanted not in PARSERS:
        raise ValueError(f"STREAM_PARSER={wanted!r}; it is one of: {', '.join(PARSERS)}")
    if wanted == SQL:
        return SQL
    problem = jar_problem(jar, session.version)
    if problem is None:
        session.sql(f"ADD JAR '{jar}'")
        problem = load_problem(session)
    if problem:
        log.warning("STREAM_PARSER=java, but %s: parsing with Spark's built-in functions (sql) instead", problem)
        return SQL
    return JAVA


def require_class(session, name: str, what: str, jar: Path = settings.STREAM_JAR):
    """A class of the stream's jar in this session's JVM, loading the jar (ADD JAR, as choose()
    does) when it is not there yet; raises, naming `what` needs it, when it cannot be had."""
    from py4j.java_gateway import JavaClass

    if not isinstance(jvm_class(session, name), JavaClass):
        problem = jar_problem(jar, session.version)
        if problem:
            raise RuntimeError(f"{what} needs {name}, but {problem}")
        session.sql(f"ADD JAR '{jar}'")
    cls = jvm_class(session, name)
    if not isinstance(cls, JavaClass):
        raise RuntimeError(f"{what} needs {name}, and {jar} does not hold it (make install rebuilds it)")
    return cls


# --- the seam ------------------------------------------------------------------------

def active(session) -> str:
    """The parser this process parses with: chosen (choose()) on first use, then kept (in
    the job's progress, for `status`), so the stream logs a fallback once, not per batch."""
    if "parser" not in CHOSEN:
        CHOSEN["parser"] = choose(session)
        log.info("parsing the API's form with the %s parser", CHOSEN["parser"])
    return CHOSEN["parser"]


def form(parser: str, misses=None) -> Column:
    return java_form(misses) if parser == JAVA else sql_form()


def with_form(kafka_records: DataFrame, parser: str, *keep: Column) -> tuple[DataFrame, Callable[[], int]]:
    """kafka_records.select(*keep, <the form> as "api"), and a function that, once an action
    has run on it, gives the number of records outside the form (never fewer; more only if
    Spark ran a task again)."""
    if parser == JAVA:
        # Counted by the parser itself: an Observation would split the pass in two stages
        # and copy every row between them.
        misses = kafka_records.sparkSession.sparkContext._jsc.sc().longAccumulator("records outside the API's form")
        return kafka_records.select(*keep, java_form(misses).alias("api")), misses.value
    # The Observation also keeps Spark from pushing a later filter below the parse, where
    # it would run the pattern and from_json twice.
    seen = Observation()
    df = kafka_records.select(*keep, sql_form().alias("api"))
    return df.observe(seen, F.count_if(F.col("api").isNull()).alias("others")), lambda: seen.get["others"]
