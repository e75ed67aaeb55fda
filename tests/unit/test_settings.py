"""Settings read the environment and the pinned versions, nothing else, and README.md's
table of variables lists every variable they read."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from game_events import settings

ROOT = settings.ROOT

# A fresh interpreter, so that the hook sees the import itself; every path opened, as text.
IMPORT_SETTINGS = """
import json, os, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" else None)
from game_events import settings
print(json.dumps([os.fsdecode(p) for p in opened if not isinstance(p, int)]))
"""


def test_importing_settings_opens_only_the_pinned_versions():
    out = subprocess.run([sys.executable, "-c", IMPORT_SETTINGS], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    # Python's own reading of modules (the standard library's and the package's) aside.
    files = [p for p in json.loads(out) if not p.endswith((".py", ".pyc")) and not os.path.isdir(p)]
    assert files == [str(settings.VERSIONS_FILE)]


def readme_variables() -> set[str]:
    """The variables that the first column of README.md's table of variables names."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Pointing the scripts at other clusters\n", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("|")]
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)`", "\n".join(first_cells)))


def test_the_readme_lists_every_variable_settings_reads():
    listed = readme_variables()
    assert sorted(settings.ENV_NAMES - listed) == []
    assert sorted(listed - settings.ENV_NAMES) == []  # nor one it no longer reads


def test_spark_driver_memory_reaches_sparks_conf():
    # spark-defaults.conf (stack/render.py) and Python's sessions both come from spark_conf().
    out = subprocess.run([sys.executable, "-c", "from game_events.spark import spark_conf; "
                          "print(spark_conf()['spark.driver.memory'])"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True, env={**os.environ, "SPARK_DRIVER_MEMORY": "3g"}).stdout
    assert out.strip() == "3g"
