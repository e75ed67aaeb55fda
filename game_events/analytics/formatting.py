"""The one table helper: rows as a markdown table (report.md, BENCHMARKS.md) or as plain
aligned text (the demo's terminal output)."""
from __future__ import annotations


def cell(value) -> str:
    return "" if value is None else str(value)


def table(header: list[str], rows, markdown: bool = True) -> str:
    cells = [list(header)] + [[cell(v) for v in r] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in cells]
        lines.insert(1, "|" + "---|" * len(header))
    else:
        widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
        lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
        lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
