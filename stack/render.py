"""The engines' config files, written under settings.CONF: each file of stack/templates
with its ${NAME}s filled from settings.template_values(), and spark-defaults.conf from
settings.spark_conf(), the same settings game_events.spark.session() applies (and the
stream's jar, built when its source changed, which spark.jars names).

A template that a service renders for itself (Service.templates: Kafka's and Presto's
per-node files) is written once per such service of the profile, into CONF/<service>/,
with the service's own values (Service.conf) added."""
from __future__ import annotations

import string
from pathlib import Path

from game_events import settings
from game_events.spark import stream_jar
from stack.services import SERVICES

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _write(src: Path, dst: Path, values: dict) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(string.Template(src.read_text()).substitute(values))


def render() -> None:
    values = settings.template_values()
    per_service = {t for svc in SERVICES for t in svc.templates}
    for src in sorted(TEMPLATES.rglob("*")):
        rel = src.relative_to(TEMPLATES).as_posix()
        if src.is_file() and rel not in per_service:
            _write(src, settings.CONF / rel, values)
    for svc in SERVICES:
        for rel in svc.templates:
            _write(TEMPLATES / rel, settings.CONF / svc.name / Path(rel).name,
                   {**values, **{k: str(v) for k, v in svc.conf.items()}})
    spark = settings.CONF / "spark" / "spark-defaults.conf"
    spark.parent.mkdir(parents=True, exist_ok=True)
    stream_jar()  # spark.jars names it, so spark-submit needs it built
    lines = [f"{key:<39} {value}\n" for key, value in settings.spark_conf().items()]
    spark.write_text("# Written by `python -m stack render` from game_events.settings.spark_conf().\n"
                     "# Read by bin/spark-submit.\n" + "".join(lines))
