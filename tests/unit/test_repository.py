"""The repository stands alone: nothing points outside it, nothing generated is tracked,
and the README's docker-compose walkthrough is the seed's, command for command."""
from __future__ import annotations

import re
import subprocess

from game_events import settings
from tests.support.data import seed_walkthrough

ROOT = settings.ROOT

# How the README's compose walkthrough differs from the seed's, and why.
SEED_TO_README = [
    ("/w205/project3-group-4/", "/w205/game-events/"),  # the project folder's name
    ("--zookeeper zookeeper:32181", "--bootstrap-server kafka:29092"),  # Kafka 4 has no ZooKeeper
    ("do bash generate_events.sh", "do VIA=compose bash generate_events.sh"),  # the script's target
]


def tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=60).stdout.splitlines()


def test_no_tracked_file_points_outside_the_repository():
    outside = re.compile(r"\.\./shared\b|/work/" + r"shared\b")  # split so this file does not match
    found = []
    for name in tracked():
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 1_000_000:
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [f"{name}: {m[0]}" for m in outside.finditer(text)]
    assert found == []


def test_nothing_generated_is_tracked():
    assert [n for n in tracked() if n.startswith((".hypothesis/", "var/", ".venv/")) or "__pycache__" in n] == []


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        lines += [ln.split("  #")[0].strip() for ln in block.splitlines()]
    return [ln.removeprefix("presto:default> ") for ln in lines if ln]


def test_the_readme_walks_through_the_seeds_commands_in_order():
    wanted = []
    for cmd in seed_walkthrough():
        for old, new in SEED_TO_README:
            cmd = cmd.replace(old, new)
        wanted.append(cmd)
    readme = iter(readme_commands())
    missing = [cmd for cmd in wanted if cmd not in readme]  # `in` consumes: order matters
    assert missing == []
