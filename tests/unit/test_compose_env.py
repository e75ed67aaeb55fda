"""docker-compose.yml sets host names only, and the seed's addresses follow from them."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from game_events import settings


def compose_environment() -> dict[str, str]:
    """The shared `environment: &env` block of docker-compose.yml (read as text: no YAML
    library is a dependency)."""
    lines = (settings.ROOT / "docker-compose.yml").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "environment: &env")
    indent = len(lines[start]) - len(lines[start].lstrip())
    env = {}
    for ln in lines[start + 1:]:
        if len(ln) - len(ln.lstrip()) <= indent:
            break
        key, _, value = ln.strip().partition(":")
        env[key] = value.strip()
    return env


def test_compose_sets_host_names_only():
    env = compose_environment()
    assert env and [k for k in env if k != "BIND_HOST" and not k.endswith("_HOST")] == []


def test_the_seeds_addresses_follow_from_the_host_names():
    # As in a container: none of this machine's own settings, the compose file's names.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA", "NAMENODE", "METASTORE", "PRESTO",
                                                                     "STACK_"))}
    out = subprocess.run([sys.executable, "-c", "from game_events import settings as s; "
                          "print(s.KAFKA_BOOTSTRAP, s.NAMENODE, s.METASTORE_URI, s.PRESTO_URL)"],
                         env={**env, **compose_environment()}, cwd=settings.ROOT, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    # The seed's walkthrough names these (tests/compose/test_compose.py).
    assert out == ["kafka:29092", "hdfs://cloudera:8020", "thrift://cloudera:9083", "http://presto:8080"]


def test_a_plain_up_starts_the_seeds_five_services_only():
    # Top-level services, and those a compose profile holds back (Prometheus and the lag
    # exporter: monitoring).
    lines = (settings.ROOT / "docker-compose.yml").read_text().split("\nservices:\n", 1)[1].splitlines()
    services, profiles = [], {}
    for ln in lines:
        if re.fullmatch(r"  [a-z-]+:(\s+#.*)?", ln):
            services.append(ln.split(":")[0].strip())
        elif ln.startswith("    profiles:"):
            profiles[services[-1]] = ln.split(":", 1)[1].strip()
    assert [s for s in services if s not in profiles] == ["kafka", "cloudera", "presto", "spark", "mids"]
    assert profiles == {"prometheus": '["monitoring"]', "lag-exporter": '["monitoring"]'}
