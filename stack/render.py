"""The engines' config files, written under settings.CONF: each file of stack/templates
with its ${NAME}s filled from template_values(), and spark-defaults.conf from
game_events.spark.spark_conf(), the same settings game_events.spark.session() applies.
Also the settings as shell assignments for the bin/ wrappers (`python -m stack shell`).

A template that a service renders for itself (Service.templates: Kafka's and Presto's
per-node files) is written once per such service of the profile, into CONF/<service>/,
with the service's own values (Service.conf) added.

Prometheus' targets are the service table's metrics endpoints (Service.metrics), written
as a file of target groups that its config reads (file_sd_configs): Prometheus rereads it
when it changes, so a render updates a running Prometheus."""
from __future__ import annotations

import json
import shlex
import string
from pathlib import Path

from game_events import settings
from game_events.spark import spark_conf
from stack.services import SERVICES, Service

TEMPLATES = Path(__file__).resolve().parent / "templates"


def template_values() -> dict[str, str]:
    """The names the config templates may use, as ${NAME}: every plain value of settings."""
    values = {name: str(value) for name, value in vars(settings).items()
              if name.isupper() and isinstance(value, (str, int, float, Path))}
    # The profile's DataNodes, for the alert that the NameNode counts fewer live.
    values.update(DATA_DIR=str(settings.DATA), CONF_DIR=str(settings.CONF), DATANODE_COUNT=str(len(settings.DATANODES)))
    return values


def shell() -> str:
    """The settings, pinned versions and jar folders as shell assignments (bin/_env.sh)."""
    values = {**template_values(), **settings.VERSIONS}
    values.update({f"JARS_{k.upper().replace('-', '_')}": str(v) for k, v in settings.JARS.items()})
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(values.items()))


def prometheus_targets(services: list[Service]) -> list[dict]:
    """One target group per metrics endpoint of the table's rows, labelled with its row's
    name; the group's labels set the job and path, which differ by endpoint."""
    return [{"targets": [f"{m.host}:{m.port}"],
             "labels": {"job": m.job, "__metrics_path__": m.path, "service": svc.name}}
            for svc in services for m in svc.metrics]


def _write(src: Path, dst: Path, values: dict) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(string.Template(src.read_text()).substitute(values))


def render() -> None:
    values = template_values()
    per_service = {t for svc in SERVICES for t in svc.templates}
    for src in sorted(TEMPLATES.rglob("*")):
        rel = src.relative_to(TEMPLATES).as_posix()
        if src.is_file() and rel not in per_service:
            _write(src, settings.CONF / rel, values)
    for svc in SERVICES:
        for rel in svc.templates:
            _write(TEMPLATES / rel, settings.CONF / svc.name / Path(rel).name,
                   {**values, **{k: str(v) for k, v in svc.conf.items()}})
    targets = settings.CONF / "prometheus" / "targets.json"
    targets.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: a running Prometheus never reads half a file.
    targets.with_suffix(".tmp").write_text(json.dumps(prometheus_targets(SERVICES), indent=2) + "\n")
    targets.with_suffix(".tmp").replace(targets)
    spark = settings.CONF / "spark" / "spark-defaults.conf"
    spark.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key:<39} {value}\n" for key, value in spark_conf().items()]
    spark.write_text("# Written by `python -m stack render` from game_events.spark.spark_conf().\n"
                     "# Read by bin/spark-submit.\n" + "".join(lines))
