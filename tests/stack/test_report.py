"""`make report` on the live stack: every number in the report is the one worked out from
its seeded mix in plain Python (tests/support/expected_report.py), and matches its query."""
import re
import subprocess
import sys

import pytest

from game_events.analytics.mix import seeded_requests
from tests.support.commands import ROOT
from tests.support.engines import presto_rows
from tests.support.expected_report import expected_tables, landed_events, members_at_the_end

pytestmark = pytest.mark.timeout(900, func_only=True)


def sections(markdown: str):
    """(title, sql, header, rows) for each query and the table printed under it."""
    for m in re.finditer(r"### ([^\n]+)\n\n(?:(?!### ).)*?```sql\n(.*?)\n```\n\n((?:\|[^\n]*\|\n)+)", markdown, re.S):
        lines = m[3].strip().splitlines()
        split = lambda ln: [c.strip() for c in ln.strip().strip("|").split("|")]  # noqa: E731
        yield m[1], m[2], split(lines[0]), [split(ln) for ln in lines[2:]]


def as_text(rows) -> list[list[str]]:
    return [["" if v is None else str(v) for v in r] for r in rows]


def test_report_numbers_are_the_seeded_mixs(pipeline, tmp_path):
    out = tmp_path / "report.md"
    subprocess.run([sys.executable, "-m", "game_events.analytics.report", str(out)], cwd=ROOT, check=True,
                   timeout=600)
    found = {title: (sql, header, rows) for title, sql, header, rows in sections(out.read_text())}
    assert len(found) == 9

    # The report's tables are its queries' answers, now.
    for title, (sql, _, rows) in found.items():
        assert rows, title
        assert rows == as_text(presto_rows(sql)), title

    # And they are the numbers the seeded mix gives, worked out without SQL.
    seeded = list(seeded_requests())
    for title, want in expected_tables(seeded).items():
        got = found[title][2]
        if title == "Sword sales by type":  # ordered by revenue alone
            assert sorted(got) == sorted(as_text(want)), title
            assert [int(r[2]) for r in got] == sorted((int(r[2]) for r in got), reverse=True)
        else:
            assert got == as_text(want), title
    over_time = found["Guild membership over time"][2]
    assert {g: int(m) for g, _, m in over_time} == members_at_the_end(seeded)  # the last second wins
    batches = found["Events per landed batch"][2]
    assert sum(int(r[1]) for r in batches) == len(landed_events(seeded))
    assert [int(r[0]) for r in batches] == sorted({int(r[0]) for r in batches})

    assert sorted(p.name for p in (tmp_path / "report").glob("*.png")) == [
        "distribution_of_pay_amounts.png", "earnings_per_user.png", "guild_membership_over_time.png",
        "sword_sales_by_type.png"]
