"""The layout's rules, read from the source: the package never imports the launcher nor the
root scripts, no module of the package imports itself back through others, and nothing
edits sys.path."""
from __future__ import annotations

import ast
from pathlib import Path

from game_events import settings

ROOT = settings.ROOT
PACKAGE = ROOT / "game_events"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """Every module a file imports, at the top or inside a function: for `from X import
    a`, X.a if that is a module, else X."""
    name, out = module_name(path), set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return out


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph() -> dict[str, set[str]]:
    files = modules()
    return {name: {m for m in imports(path, set(files)) if m in files and m != name} for name, path in files.items()}


def test_the_package_never_imports_the_launcher():
    files = modules()
    offenders = {name: sorted(m for m in imports(path, set(files)) if m.split(".")[0] in ("stack", "stackctl"))
                 for name, path in files.items()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_package_never_imports_a_root_script():
    # The root scripts are the seed's entry points, thin shims over the package.
    scripts = {p.stem for p in ROOT.glob("*.py")}
    assert scripts >= {"game_api", "write_event_stream", "write_hive_table", "compact_events"}
    files = modules()
    offenders = {name: sorted(m for m in imports(path, set(files)) if m.split(".")[0] in scripts)
                 for name, path in files.items()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_package_has_no_import_cycles():
    edges, cycles = graph(), []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    assert cycles == []


def test_nothing_edits_the_import_path():
    python = [p for folder in ("game_events", "stack", "bench", "tests") for p in (ROOT / folder).rglob("*.py")]
    python += list(ROOT.glob("*.py"))
    found = [str(p.relative_to(ROOT)) for p in python
             if "sys.path" in p.read_text() and p != Path(__file__).resolve()]
    assert found == []
