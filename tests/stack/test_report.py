"""`make report` on the live stack: every row of every table in the report is the one
worked out in plain Python (tests/support/expected_report.py), never by the report's SQL:
from its seeded mix, regenerated from the seed the report names, and, for the two tables
that depend on when events landed, from the run's landed rows, which must themselves be
exactly the mix, column by column."""
import re
import subprocess
import sys

import pytest

from game_events.analytics.mix import RETRY_EVERY, seeded_requests
from tests.support.commands import ROOT
from tests.support.engines import caught_up
from tests.support.expected_report import (events_per_batch, expected_tables, landed_events, members_at_the_end,
                                           membership_over_time)
from tests.support.load import CANONICAL_UUID, assert_same_rows, expected_row, landed_rows
from tests.support.waits import wait_for

pytestmark = pytest.mark.timeout(900, func_only=True)
TITLES = ["Events per type", "Guild membership", "Guild membership over time", "Earnings per user",
          "Distribution of pay amounts", "Sword sales by type", "Spending per user",
          "Activity per host and user agent", "Events per landed batch", "Events and their ids"]


def sections(markdown: str):
    """(title, sql, header, rows) for each query and the table printed under it."""
    for m in re.finditer(r"### ([^\n]+)\n\n(?:(?!### ).)*?```sql\n(.*?)\n```\n\n((?:\|[^\n]*\|\n)+)", markdown, re.S):
        lines = m[3].strip().splitlines()
        split = lambda ln: [c.strip() for c in ln.strip().strip("|").split("|")]  # noqa: E731
        yield m[1], m[2], split(lines[0]), [split(ln) for ln in lines[2:]]


def as_text(rows) -> list[list[str]]:
    return [["" if v is None else str(v) for v in r] for r in rows]


def differing(got: list[list[str]], want: list[list[str]]) -> str:
    """The rows of a table that differ, position by position, for the failure message."""
    lines = [f"row {i}: report {g}, expected {w}" for i, (g, w) in enumerate(zip(got, want)) if g != w]
    if len(got) != len(want):
        lines.append(f"{len(got)} rows in the report, {len(want)} expected")
    return "\n".join(lines[:20])


def test_report_numbers_are_the_seeded_mixs(pipeline, tmp_path):
    out = tmp_path / "report.md"
    wait_for(caught_up, 120, what="the stream to catch up")  # so its counter moves for this run alone
    subprocess.run([sys.executable, "-m", "game_events.analytics.report", str(out)], cwd=ROOT, check=True,
                   timeout=600)
    text = out.read_text()
    found = {title: rows for title, _, _, rows in sections(text)}
    assert list(found) == TITLES
    tag = re.search(r"Run tag: `(\w+)`", text)[1]
    seed, n = map(int, re.search(r"\(seed (\d+), (\d+) requests\)", text).groups())
    seeded = list(seeded_requests(seed, n))

    # The run's landed rows are exactly the mix, tagged as the report sends it: what the
    # tables that depend on landing times are worked out from.
    rows = landed_rows(f"\"user\" like '%-{tag}'", extra=("timestamp", "$path"))
    # The report's requests carry no id of their own: the API gave each one of its own.
    ids = [r["raw_event"].pop("event_id", None) for r in rows]
    assert all(re.fullmatch(CANONICAL_UUID, i or "") for i in ids) and len(set(ids)) == len(ids), ids[:10]
    assert_same_rows(rows, [expected_row(t, {**p, "user": f"{p['user']}-{tag}"}, h, None)
                            for t, p, h in landed_events(seeded)], f"the report's run {tag}")

    want = expected_tables(seeded)
    want["Guild membership over time"] = membership_over_time(
        (r["name"], r["event_type"], r["timestamp"]) for r in rows if r["event_type"] in ("join_a_guild", "quit_guild"))
    want["Events per landed batch"] = events_per_batch((r["$path"], r["timestamp"]) for r in rows)
    landing = len(landed_events(seeded))
    want["Events and their ids"] = [(landing, landing)]
    assert set(want) == set(TITLES)
    for title in TITLES:
        got, expected = found[title], as_text(want[title])
        assert expected, f"{title}: the mix gives no row; a table with none checks nothing"
        if title == "Sword sales by type":  # ordered by revenue alone: ties in any order
            assert sorted(got) == sorted(expected), f"{title}:\n{differing(sorted(got), sorted(expected))}"
            assert [int(r[2]) for r in got] == sorted((int(r[2]) for r in got), reverse=True), got
        else:
            assert got == expected, f"{title}:\n{differing(got, expected)}"

    # Every tenth landing event was sent twice with its id; the stream dropped each copy.
    retries, sent, dropped = map(int, re.search(
        r"sent (\d+) of its (\d+) landing events a second time.*counted (\d+) duplicates dropped", text, re.S).groups())
    assert (retries, sent, dropped) == (landing // RETRY_EVERY, landing, landing // RETRY_EVERY)

    # Every point above came from the landed timestamps; the last one of each guild must
    # also be what the mix alone gives.
    last = {g: int(m) for g, _, m in found["Guild membership over time"]}  # each guild's rows end at its last
    assert last == members_at_the_end(seeded)

    assert sorted(p.name for p in (tmp_path / "report").glob("*.png")) == [
        "distribution_of_pay_amounts.png", "earnings_per_user.png", "guild_membership_over_time.png",
        "sword_sales_by_type.png"]
