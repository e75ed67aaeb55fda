"""`make report` on the live stack: every number in the report matches its query."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT, presto_rows

pytestmark = pytest.mark.stack


def sections(markdown: str):
    """(sql, header, rows) for each query and the table printed under it."""
    for m in re.finditer(r"```sql\n(.*?)\n```\n\n((?:\|[^\n]*\|\n)+)", markdown, re.S):
        lines = m[2].strip().splitlines()
        split = lambda ln: [c.strip() for c in ln.strip().strip("|").split("|")]  # noqa: E731
        yield m[1], split(lines[0]), [split(ln) for ln in lines[2:]]


def test_report_numbers_match_their_queries(pipeline, tmp_path):
    out = tmp_path / "report.md"
    subprocess.run([sys.executable, "-m", "game_events.report", str(out)], cwd=ROOT, check=True, timeout=600)
    found = list(sections(out.read_text()))
    assert len(found) == 9
    for sql, header, rows in found:
        assert rows, sql
        fresh = [["" if v is None else str(v) for v in r] for r in presto_rows(sql)]
        assert rows == fresh, sql
    assert sorted(p.name for p in (tmp_path / "report").glob("*.png")) == [
        "distribution_of_pay_amounts.png", "earnings_per_user.png", "guild_membership_over_time.png",
        "sword_sales_by_type.png"]
