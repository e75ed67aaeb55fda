"""`make demo` as a user runs it, with TAG set so that its answers are its own run's: every
answer it prints is worked out here, by hand, from what generate_events.sh says it sent."""
from __future__ import annotations

import re
import textwrap
from collections import Counter, defaultdict

import pytest

from tests.support.commands import make
from tests.support.data import SWORD_PRICES, expected_event, sent_by_generate_events

pytestmark = pytest.mark.timeout(600, func_only=True)


def printed_tables(out: str, tag: str) -> dict[str, list[list[str]]]:
    """{title: [header, row, ...]} of each answer the demo printed, cells as text."""
    tables = {}
    for m in re.finditer(rf"^  (.+) \(the events tagged {tag}\)\n((?:    .*\n?)+)", out, re.M):
        lines = textwrap.dedent(m[2]).splitlines()
        tables[m[1]] = [[c.strip() for c in ln.split(" | ")] for ln in lines if not set(ln) <= set("-+ ")]
    return tables


def test_make_demo_prints_the_answers_of_what_it_sent(pipeline, tag):
    out = make("demo", f"TAG={tag}", timeout=600).stdout
    start = out.rindex("\n", 0, out.index("SENT ")) + 1  # the report, as the demo indents it
    report = out[start:out.index("==>", start)]
    sent = [(expected_event(t, params), n) for t, params, _, n in sent_by_generate_events(textwrap.dedent(report))
            if t != "default"]
    assert len(sent) == 10 and all(n > 0 for _, n in sent), report  # the seed's ten landable lines, answered

    types, joins, quits, pay, swords = Counter(), Counter(), Counter(), defaultdict(list), defaultdict(list)
    for e, n in sent:
        types[e["event_type"]] += n
        joins[e["name"]] += n * (e["event_type"] == "join_a_guild")
        quits[e["name"]] += n * (e["event_type"] == "quit_guild")
        if e["event_type"] == "get_paid":
            pay[e["user"].removesuffix(f"-{tag}")] += [e["amount"]] * n
        if e["event_type"] == "purchase_sword":
            swords[e["type"]] += [SWORD_PRICES[e["type"]]] * n
    guilds = sorted(g for g in joins if g)
    assert guilds == ["knights", "wizards"]

    tables = printed_tables(out, tag)
    assert tables["Events per type"] == [["event_type", "events"]] + [[t, str(n)] for t, n in sorted(types.items())]
    assert tables["Guild membership"] == [["guild", "joins", "quits", "members"]] + [
        [g, str(joins[g]), str(quits[g]), str(joins[g] - quits[g])] for g in guilds]
    earned = sorted(pay.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    assert tables["Earnings per user"] == [["user", "payments", "earned", "largest"]] + [
        [u, str(len(a)), str(sum(a)), str(max(a))] for u, a in earned]
    sales = sorted(swords.items(), key=lambda kv: -sum(kv[1]))
    assert tables["Sword sales by type"] == [["sword", "sold", "revenue"]] + [
        [s, str(len(p)), str(sum(p))] for s, p in sales]
    assert set(tables) == {"Events per type", "Guild membership", "Earnings per user", "Sword sales by type"}
    assert out.rstrip().endswith("demo done")
